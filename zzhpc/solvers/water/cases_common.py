"""The deck of the water cases and tests."""


def water_deck(water=None, run=None, **sections):
    """A deck dict for solver ``water``: small SPC/E box, NVT 300 K, short run (overridden by ``water``/``run``)."""
    deck = {
        "solver": "water",
        "run": dict({"steps": 20, "dt": 2.0, "diag_every": 10, "progress_every": 0.0}, **(run or {})),
        "water": dict(
            {"model": "spce", "molecules": 216, "cutoff": 7.0, "skin": 1.5, "ensemble": "nvt", "minimise_steps": 20},
            **(water or {}),
        ),
        "output": {"fields": False},
    }
    deck.update(sections)
    deck["water"] = {k: v for k, v in deck["water"].items() if v is not None}
    return deck
