"""Reading a TOML deck and applying ``--set key.path=value`` overrides."""

import os

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

from ..errors import ConfigError


def load_deck(path):
    """Parse a TOML input deck; a missing or malformed file is a ConfigError naming it."""
    if not os.path.isfile(path):
        raise ConfigError("deck", "input deck not found", str(path))
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("deck", f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("deck", f"{path} is not UTF-8 text") from None


def parse_value(text):
    """A ``--set`` value as TOML (numbers, booleans, arrays, quoted strings), else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_key(deck, key, value, item=None):
    """Set ``deck["a"]["b"]["c"] = value`` for ``key = "a.b.c"`` (tables made as needed, in place)."""
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError("--set", "expected key.path=value", item if item is not None else key)
    node = deck
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(key, "is not a table")
    node[parts[-1]] = value


def apply_overrides(deck, assignments):
    """Apply ``["run.steps=10", ...]`` to a nested deck (in place) and return it."""
    for item in assignments or ():
        if "=" not in item:
            raise ConfigError("--set", "expected key.path=value", item)
        key, text = item.split("=", 1)
        set_key(deck, key, parse_value(text.strip()), item)
    return deck
