"""Property-based: malformed or out-of-range decks for every solver with an example deck.

Each generated deck is wrong in one known way; validation must raise ConfigError with one line naming
the key (in-process, 1,000+ decks per solver), and the CLI must exit 2 with one line under 1 and 4 ranks
(a sample, since each launch costs a second)."""

import copy
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, run_zzhpc
from zzhpc.config.loader import load_deck
from zzhpc.config.schema import Section
from zzhpc.core.deck import full_schema, resolve
from zzhpc.core.harness import dumps_deck
from zzhpc.core.registry import get_solver
from zzhpc.errors import ConfigError


def example_decks():
    out = {}
    for path in sorted((ROOT / "examples").glob("*.toml")):
        deck = load_deck(str(path))
        name = deck.get("solver")
        if isinstance(name, str) and name not in out:
            out[name] = path
    return out


EXAMPLES = example_decks()
SOLVERS = sorted(EXAMPLES)


def leaves(schema, prefix=()):
    for key, spec in schema.items():
        if isinstance(spec, Section):
            yield from leaves(spec, prefix + (key,))
        else:
            yield prefix + (key,), spec


def bad_values(spec):
    """Values that ``spec`` must reject."""
    kind = spec.kind
    vals = [{"a": 1}]
    if isinstance(kind, tuple):
        vals += ["text", 3.5 if kind[1] is not float else "x", [{"a": 1}]]
        if spec.lo is not None and kind[1] in (int, float):
            vals.append([spec.lo - 1] if not spec.lo_open else [spec.lo])
        return vals
    if kind is int:
        vals += ["ten", 2.5, True, [1]]
    elif kind is float:
        vals += ["x", math.nan, math.inf, -math.inf, False, [1.0]]
    elif kind is bool:
        vals += ["yes", 1, 0.0]
    elif kind is str:
        vals += [7, 1.5, True, ["a"]]
        if spec.choices:
            vals.append("definitely-not-a-choice")
    if kind in (int, float):
        if spec.lo is not None:
            vals.append(spec.lo if spec.lo_open else spec.lo - 1)
        if spec.hi is not None:
            vals.append(spec.hi + 1)
        if spec.choices:
            vals.append(-12345)
    return vals


def set_path(deck, path, value):
    node = deck
    for p in path[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[path[-1]] = value


def mutations(name):
    cls = get_solver(name)
    schema = full_schema(cls)
    base = load_deck(str(EXAMPLES[name]))
    muts = []
    for path, spec in leaves(schema):
        if path == ("solver",):
            continue
        for v in bad_values(spec):
            muts.append((path, v))
    # Unknown keys at every level, and whole tables of the wrong type.
    for sect in [k for k, v in schema.items() if isinstance(v, Section)]:
        muts.append(((sect, "no_such_key"), 1))
        muts.append(((sect,), 5))
    muts.append((("no_such_table",), {}))
    return base, muts


@pytest.mark.parametrize("name", SOLVERS)
def test_every_mutation_is_one_line_naming_the_key(name):
    base, muts = mutations(name)
    base_dir = str(EXAMPLES[name].parent)
    resolve(base, 1, base_dir=base_dir)  # the example itself is valid

    @settings(max_examples=1000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(muts), st.sampled_from(muts), st.booleans())
    def check(m1, m2, two):
        deck = copy.deepcopy(base)
        chosen = [m1, m2] if two and m1[0][:1] != m2[0][:1] else [m1]
        for path, value in chosen:
            set_path(deck, path, value)
        with pytest.raises(ConfigError) as err:
            resolve(deck, 1, base_dir=base_dir)
        msg = str(err.value)
        assert "\n" not in msg and msg.startswith("config: ")
        named = msg[len("config: ") :].split(" ", 1)[0].split("[")[0]
        keys = [".".join(p) for p, _ in chosen]
        assert any(named == k or k.startswith(named + ".") or named.startswith(k) for k in keys), (msg, keys)

    check()


@pytest.mark.parametrize("ranks", [0, 4])
@pytest.mark.parametrize("name", SOLVERS)
def test_cli_exits_2_with_one_line(name, ranks, tmp_path):
    base, muts = mutations(name)
    muts = [m for m in muts if tuple(m[0][:2]) != ("output", "dir")]  # `-o` below replaces output.dir
    for i, (path, value) in enumerate(muts[:: max(1, len(muts) // 3)][:3]):
        deck = copy.deepcopy(base)
        set_path(deck, path, value)
        f = tmp_path / f"bad{i}.toml"
        f.write_text(_toml(deck))
        proc = run_zzhpc(ranks, "run", f, "-o", tmp_path / "out", cwd=EXAMPLES[name].parent)
        assert proc.returncode == 2, proc.stderr[-1500:]
        mine = [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]
        assert len(mine) == 1 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
        assert not (tmp_path / "out").exists()


_toml = dumps_deck  # the harness's deck writer (test_deck_fuzz_mpi imports it by this name)
