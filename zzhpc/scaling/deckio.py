"""Sweep decks: a solver deck plus an optional ``[scaling]`` table, and writing per-run decks.

The solver's schema rejects unknown tables, so ``[scaling]`` is removed before a run's deck is
written (by :func:`zzhpc.core.harness.write_deck`); relative file names in the deck are made absolute so that the run's deck (in the sweep
folder) still finds them.
"""

import copy
import hashlib
import json
import os

from ..config.loader import apply_overrides, load_deck
from ..errors import ConfigError

SCALING_KEYS = {"mode", "ranks", "repeat", "key", "steps", "set"}


def read_sweep_deck(path):
    """``(solver deck without [scaling], scaling table)`` of a TOML deck."""
    deck = load_deck(path)
    table = deck.pop("scaling", {}) or {}
    if not isinstance(table, dict):
        raise ConfigError("scaling", "expected a table", table)
    unknown = sorted(set(table) - SCALING_KEYS)
    if unknown:
        raise ConfigError(
            f"scaling.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(SCALING_KEYS))})", table[unknown[0]]
        )
    _absolutise(deck, os.path.dirname(os.path.abspath(path)))
    return deck, table


def _absolutise(node, base):
    for k, v in list(node.items()):
        if isinstance(v, dict):
            _absolutise(v, base)
        elif isinstance(v, str) and v and not os.path.isabs(v) and k not in ("dir",):
            cand = os.path.join(base, v)
            if os.path.isfile(cand):
                node[k] = cand


def with_overrides(deck, overrides):
    return apply_overrides(copy.deepcopy(deck), list(overrides))


def fingerprint(deck, ranks):
    """A short hash of what a run computes: the deck and the rank count (resume reruns on a change)."""
    text = json.dumps({"deck": deck, "ranks": ranks}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
