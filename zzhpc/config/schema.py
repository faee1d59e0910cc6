"""Typed schema for input decks.

A schema is a :class:`Section` of :class:`Param` (and nested sections). :func:`validate` returns the deck
with defaults filled, or raises :class:`~zzhpc.errors.ConfigError` naming the dotted key, the value and
what is allowed: one line, no traceback.
"""

import math
import os

from ..errors import ConfigError

REQUIRED = object()
_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


class Param:
    """One key of a deck.

    Parameters
    ----------
    kind : type or tuple
        ``int``, ``float``, ``bool``, ``str``, or ``(list, item_type)`` for an array.
    default : optional
        Value used when the key is absent; ``REQUIRED`` makes the key mandatory; ``None`` allows absence.
    choices, lo, hi, lo_open : constraints; ``lo_open`` makes ``lo`` exclusive.
    length : int or (min, max) for arrays.
    is_file : bool, the string must name an existing file (relative paths are taken from the deck's folder).
    """

    def __init__(
        self,
        kind,
        default=REQUIRED,
        *,
        choices=None,
        lo=None,
        hi=None,
        lo_open=False,
        length=None,
        is_file=False,
        help="",
    ):
        self.kind, self.default, self.choices = kind, default, choices
        self.lo, self.hi, self.lo_open = lo, hi, lo_open
        self.length, self.is_file, self.help = length, is_file, help

    def describe(self):
        if isinstance(self.kind, tuple):
            word = f"an array of {_TYPE_WORDS[self.kind[1]].split(' ', 1)[1]}s"
        else:
            word = _TYPE_WORDS[self.kind]
        if self.choices:
            word = "one of " + ", ".join(repr(c) for c in self.choices)
        if self.lo is not None or self.hi is not None:
            lo = "" if self.lo is None else (f" > {self.lo}" if self.lo_open else f" >= {self.lo}")
            hi = "" if self.hi is None else f" <= {self.hi}"
            word += lo + ("," if lo and hi else "") + hi
        return word

    def check(self, key, value, base_dir="."):
        if isinstance(self.kind, tuple):
            if not isinstance(value, list):
                raise ConfigError(key, f"expected {self.describe()}", value)
            n = len(value)
            if self.length is not None:
                lo, hi = self.length if isinstance(self.length, tuple) else (self.length, self.length)
                if not lo <= n <= hi:
                    want = f"{lo}" if lo == hi else f"{lo} to {hi}"
                    raise ConfigError(key, f"expected {want} entries, got {n}", value)
            item = Param(self.kind[1], lo=self.lo, hi=self.hi, lo_open=self.lo_open, choices=self.choices)
            return [item.check(f"{key}[{i}]", v, base_dir) for i, v in enumerate(value)]
        value = self._coerce(key, value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(key, "must be a finite number", value)
        if self.choices is not None and value not in self.choices:
            raise ConfigError(key, f"expected {self.describe()}", value)
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            raise ConfigError(key, f"must be {'>' if self.lo_open else '>='} {self.lo}", value)
        if self.hi is not None and value > self.hi:
            raise ConfigError(key, f"must be <= {self.hi}", value)
        if self.is_file and value:
            path = value if os.path.isabs(value) else os.path.join(base_dir, value)
            if not os.path.isfile(path):
                raise ConfigError(key, "file not found", value)
            value = os.path.normpath(path)
        return value

    def _coerce(self, key, value):
        kind = self.kind
        if kind is bool:
            if isinstance(value, bool):
                return value
        elif kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif kind is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        elif kind is str:
            if isinstance(value, str):
                return value
        raise ConfigError(key, f"expected {_TYPE_WORDS[kind]}, got {type(value).__name__}", value)


class Section(dict):
    """A table of the deck: key -> :class:`Param` or nested :class:`Section`."""

    def __init__(self, *args, help="", **kw):
        super().__init__(*args, **kw)
        self.help = help


def validate(deck, schema, *, base_dir=".", prefix=""):
    """Return ``deck`` checked against ``schema`` with defaults filled; raise ConfigError on the first fault."""
    if not isinstance(deck, dict):
        raise ConfigError(prefix.rstrip(".") or "deck", "expected a table", deck)
    for key in deck:
        if key not in schema:
            allowed = ", ".join(sorted(schema)) or "none"
            raise ConfigError(prefix + key, f"unknown key (allowed here: {allowed})")
    out = {}
    for key, spec in schema.items():
        dotted = prefix + key
        if isinstance(spec, Section):
            out[key] = validate(deck.get(key, {}), spec, base_dir=base_dir, prefix=dotted + ".")
        elif key in deck:
            out[key] = spec.check(dotted, deck[key], base_dir)
        elif spec.default is REQUIRED:
            raise ConfigError(dotted, f"missing (expected {spec.describe()})")
        else:
            out[key] = list(spec.default) if isinstance(spec.default, list) else spec.default
    return out


def common_schema(backends=("numpy",)):
    """Sections shared by every solver: ``run``, ``backend``, ``parallel``, ``output``."""
    return Section(
        solver=Param(str, help="registered solver name (zzhpc info lists them)"),
        run=Section(
            steps=Param(
                int,
                0,
                lo=0,
                help="number of steps; 0 = run to t_end; with t_end too, the run stops at "
                "whichever comes first (said at the start)",
            ),
            t_end=Param(float, None, lo=0, lo_open=True, help="simulated end time"),
            dt=Param(float, None, lo=0, lo_open=True, help="time step (solver default if absent)"),
            seed=Param(int, 12345, lo=0, help="random seed"),
            diag_every=Param(int, 10, lo=1, help="steps between diagnostics"),
            output_every=Param(int, 0, lo=0, help="steps between field outputs; 0 = at the end only"),
            checkpoint_every=Param(int, 0, lo=0, help="steps between checkpoints; 0 = at the end only"),
            keep_checkpoints=Param(int, 3, lo=1, help="checkpoints kept on disk"),
            progress_every=Param(float, 5.0, lo=0, help="seconds between progress lines on rank 0"),
            thermo=Param(
                (list, str),
                [],
                help="LAMMPS-style thermo columns on screen, e.g. "
                "['step', 'temp', 'pe', 'etotal', 'press']: 'step', 'time', "
                "'cpu' (wall s) or any diagnostic name; empty = none",
            ),
            thermo_every=Param(int, 0, lo=0, help="steps between thermo lines; 0 = run.diag_every"),
            wall_limit=Param(
                float, None, lo=0, lo_open=True, help="seconds; checkpoint and stop cleanly before this wall time"
            ),
            stop_check_every=Param(
                int, 10, lo=1, help="steps between the ranks' agreement on a stop signal or wall limit"
            ),
            restart=Param(str, "none", help="'none', 'auto' (newest checkpoint in the output folder) or a file"),
            plugins=Param(
                (list, str),
                [],
                help="run-loop plug-ins, 'NAME' or 'NAME:key=value,...' (tests: "
                "'fault:kind=nan,rank=1,step=20', 'slow:seconds=0.01')",
            ),
            help="time stepping, diagnostics, checkpoints",
        ),
        backend=Section(
            name=Param(str, "numpy", choices=tuple(backends), help="array backend"),
            device=Param(
                str, "local-rank", help="'local-rank', 'round-robin', a card number, or a torch device string"
            ),
            dtype=Param(str, "float64", choices=("float64", "float32"), help="floating-point precision"),
            precision=Param(
                str,
                "uniform",
                choices=("uniform", "mixed"),
                help="uniform: every kernel in backend.dtype; mixed: forces (pairs, PME) in float32, "
                "energies, virial, positions and velocities in backend.dtype (float64 where the "
                "device has it, else float32 with compensated sums); docs/precision.md",
            ),
            gpu_aware_mpi=Param(bool, False, help="hand device buffers to MPI (only with a GPU-aware MPI)"),
            help="device layer",
        ),
        parallel=Section(
            dims=Param(
                (list, int),
                [],
                lo=0,
                length=(0, 3),
                help="process grid; empty or 0 entries = chosen by MPI_Dims_create",
            ),
            help="domain decomposition",
        ),
        output=Section(
            dir=Param(str, "", help="output folder (default runs/<solver>)"),
            fields=Param(bool, True, help="write field/trajectory output"),
            existing=Param(
                str,
                "refuse",
                choices=("refuse", "backup"),
                help="a fresh run into a folder holding an earlier run's results: 'refuse' (one line, "
                "exit 2) or 'backup' (move them aside to DIR.~N~ first)",
            ),
            help="output files",
        ),
    )


def describe(schema, prefix=""):
    """Lines ``key  (type, default)  help`` for ``--help`` and the docs."""
    lines = []
    for key, spec in schema.items():
        if isinstance(spec, Section):
            lines.append(f"[{prefix}{key}]  {spec.help}")
            lines += describe(spec, prefix + key + ".")
        else:
            d = "required" if spec.default is REQUIRED else f"default {spec.default!r}"
            lines.append(f"  {prefix}{key}: {spec.describe()} ({d})  {spec.help}")
    return lines
