"""Generated misuse of the CLI itself, in the manner of the deck fuzzer (test_deck_fuzz.py): random sequences
of runs into existing, missing, read-only and reused folders, replays, restarts (automatic and from another
folder's checkpoint) and bad or unread PETSc options, at 1 and 2 ranks.

After every command: the exit status is 0, or 2 with exactly one ``zzhpc:`` line and no traceback; and every
file of every earlier run is where it was, byte for byte (sha256), or, when the folder was backed up, in
``DIR.~N~`` with the same bytes. A run continued by ``--restart auto`` is that run going on (its diagnostics
grow, old checkpoints are pruned), so its files are hashed again afterwards. ``ZZHPC_MISUSE_TRIALS`` sets
the number of commands (default 24, sized for CI: aim under 2 minutes)."""

import collections
import os
import random
import subprocess

import pytest

from conftest import ROOT, run_zzhpc
from test_run_safety import tree_hashes

HEAT = str(ROOT / "examples" / "heat.toml")
TRIALS = int(os.environ.get("ZZHPC_MISUSE_TRIALS", "24"))
SMALL = ["-q", "--set", "heat.shape=[16,16]", "--set", "run.t_end=0.002", "--set", "run.checkpoint_every=3"]
FOLDERS = ("A", "B", "C")


@pytest.fixture
def read_only(tmp_path):
    """A read-only folder: a read-only tmpfs where it can be mounted (root ignores file modes), else a path
    that runs through a regular file (unwritable for anyone)."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", str(mnt)], capture_output=True)
    if proc.returncode == 0:
        yield mnt / "out"
        subprocess.run(["umount", "-l", str(mnt)], check=False)
    else:
        (tmp_path / "file").write_text("a file\n")
        yield tmp_path / "file" / "out"


def _command(rng, tmp_path, read_only, finished):
    """One random misuse: ``(label, argv after 'zzhpc', folder it may continue or None)``."""
    target = str(tmp_path / rng.choice(FOLDERS))
    kind = rng.choice(
        [
            "fresh",
            "fresh",
            "backup",
            "restart",
            "replay",
            "replay-into",
            "foreign-restart",
            "read-only",
            "missing-parents",
            "bad-petsc",
            "unread-petsc",
        ]
    )
    base = ["run", HEAT, *SMALL]
    if kind == "fresh":
        return kind, base + ["-o", target], None
    if kind == "backup":
        return kind, base + ["-o", target, "--set", "output.existing='backup'"], None
    if kind == "restart":
        return kind, base + ["-o", target, "--set", "run.t_end=0.003", "--restart", "auto"], target
    if kind in ("replay", "replay-into") and finished:
        src = rng.choice(sorted(finished))
        extra = ["-o", target] if kind == "replay-into" else []
        return kind, ["run", os.path.join(src, "summary.json"), "-q", *extra], None
    if kind == "foreign-restart" and finished:
        src = rng.choice(sorted(finished))
        ck = sorted(os.listdir(os.path.join(src, "checkpoints")))
        ck = [c for c in ck if c.startswith("ckpt_")]
        if ck:
            return kind, base + ["-o", target, "--restart", os.path.join(src, "checkpoints", ck[-1])], None
    if kind == "read-only":
        return kind, base + ["-o", str(read_only)], None
    if kind == "missing-parents":
        return kind, base + ["-o", str(tmp_path / f"new{rng.randrange(10**6)}" / "x" / "y")], None
    if kind == "bad-petsc":
        return kind, base + ["-o", target, "--", "-pc_type", "hyper"], None
    if kind == "unread-petsc":
        return kind, base + ["-o", target, "--", "-ksp_typo"], None
    return "fresh", base + ["-o", target], None


def _lost(finished):
    """Files of finished runs that are neither in place nor in a backup of their folder, with their bytes."""
    lost = []
    for folder, hashes in finished.items():
        now = tree_hashes(folder) if os.path.isdir(folder) else {}
        backups = [
            tree_hashes(os.path.join(os.path.dirname(folder), n))
            for n in os.listdir(os.path.dirname(folder))
            if n.startswith(os.path.basename(folder) + ".~")
        ]
        for rel, h in hashes.items():
            if now.get(rel) != h and not any(b.get(rel) == h for b in backups):
                lost.append(os.path.join(folder, rel))
    return lost


def test_cli_misuse_never_loses_a_file(tmp_path, read_only):
    rng = random.Random(2212)
    finished = {}  # run folder -> {file: sha256} at the end of its last run
    outcomes = collections.Counter()
    for trial in range(TRIALS):
        ranks = rng.choice([0, 2])
        label, argv, continues = _command(rng, tmp_path, read_only, finished)
        proc = run_zzhpc(ranks, *argv, timeout=300, cwd=tmp_path)
        mine = [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]
        where = (
            f"trial {trial} ({label}, {max(ranks, 1)} rank(s)): zzhpc {' '.join(map(str, argv))}\n{proc.stderr[-2000:]}"
        )
        assert "Traceback" not in proc.stderr, where
        assert proc.returncode in (0, 2), where
        if proc.returncode == 2:
            assert len(mine) == 1, where
        outcomes[(label, proc.returncode)] += 1
        if continues:
            finished.pop(continues, None)  # that run went on: its files are its own to change
        assert _lost(finished) == [], where
        if proc.returncode == 0:
            out = next((argv[i + 1] for i, a in enumerate(argv) if a == "-o"), None)
            if out is None:  # a replay without -o: the newest OLD-replay-N
                src = os.path.dirname(argv[1])
                n = max(
                    int(p.rsplit("-", 1)[1])
                    for p in os.listdir(os.path.dirname(src))
                    if p.startswith(os.path.basename(src) + "-replay-")
                )
                out = f"{src}-replay-{n}"
            finished[str(out)] = tree_hashes(out)
    lines = ", ".join(f"{k[0]} -> {k[1]}: {n}" for k, n in sorted(outcomes.items()))
    print(f"{TRIALS} misuse trials; outcomes: {lines}; files lost: 0")
