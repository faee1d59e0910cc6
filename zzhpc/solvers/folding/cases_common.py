"""Decks shared by the folding cases (:mod:`.cases`, :mod:`.cases_mixed`)."""

from .proteins import PROTEINS, TF


def deck(protein, **folding):
    path, chain, res = PROTEINS[protein]
    run_keys = folding.pop("run", {})
    d = {
        "solver": "folding",
        "run": dict({"diag_every": 10**9, "progress_every": 1e9}, **run_keys),
        "folding": dict({"structure": path, "chain": chain}, **folding),
        "output": {"fields": False},
    }
    if res:
        d["folding"]["residues"] = res
    return d


def remd_deck(protein, quick):
    tf = TF[protein]
    n_rep = 8 if quick else 16
    steps = 2000 if quick else (150000 if protein == "villin" else 150000)
    return deck(
        protein,
        replicas=n_rep,
        t_min=round(0.85 * tf, 4),
        t_max=round(1.2 * tf, 4),
        exchange_every=50 if quick else 100,
        sample_every=20 if quick else 100,
        run={"steps": steps, "seed": 11, "dt": 0.002},
    )
