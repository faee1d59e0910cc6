"""1,000 malformed decks per solver through the real `zzhpc run` entry point on every rank of this MPI
job (2 and 4 ranks): each returns exit status 2 on every rank, with exactly one line from rank 0."""

import contextlib
import copy
import io
import os
import random
import sys

import pytest
from mpi4py import MPI

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from test_deck_fuzz import SOLVERS, _toml, mutations, set_path  # noqa: E402

from zzhpc.cli.main import main  # noqa: E402

comm = MPI.COMM_WORLD
N_DECKS = int(os.environ.get("ZZHPC_FUZZ_DECKS", "1000"))


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("name", SOLVERS)
def test_thousand_bad_decks_exit_2_on_every_rank(name, tmp_path):
    base, muts = mutations(name)
    rng = random.Random(1234)  # same sequence on every rank
    folder = comm.bcast(str(tmp_path), root=0)
    never = os.path.join(folder, "never")
    base = copy.deepcopy(base)
    base.setdefault("output", {})["dir"] = never  # no -o below: it would mend a broken output table
    bad_codes, lines = 0, []
    for i in range(N_DECKS):
        deck = copy.deepcopy(base)
        picks = [rng.choice(muts)] + ([rng.choice(muts)] if rng.random() < 0.3 else [])
        for path, value in picks:
            set_path(deck, path, value)
        path = os.path.join(folder, f"{name}_{i % 8}.toml")
        if comm.Get_rank() == 0:
            with open(path, "w") as fh:
                fh.write(_toml(deck))
        comm.Barrier()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["run", path, "-q"])
        bad_codes += code != 2
        out = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        if comm.Get_rank() == 0:
            lines.append(out)
        else:
            assert out == [], out
        comm.Barrier()
    assert bad_codes == 0
    if comm.Get_rank() == 0:
        assert all(len(o) == 1 and o[0].startswith("zzhpc: config: ") for o in lines), next(
            o for o in lines if len(o) != 1 or not o[0].startswith("zzhpc: config: ")
        )
    assert not os.path.exists(never)
