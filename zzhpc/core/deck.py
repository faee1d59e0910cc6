"""From a TOML file and ``--set`` overrides to a validated configuration."""
import copy
import os

from ..config import apply_overrides, common_schema, load_deck, validate
from ..config.schema import Section
from ..errors import ConfigError
from .registry import get_solver


def full_schema(solver_cls):
    from ..device import backend_names
    schema = common_schema(backend_names())
    schema[solver_cls.name] = Section(solver_cls.schema, help=solver_cls.description)
    return schema


def resolve(deck, nranks, base_dir=".", backend=None, output=None):
    """Validated configuration with defaults; raises ConfigError naming the first wrong key."""
    deck = copy.deepcopy(deck)
    if backend:
        deck.setdefault("backend", {})["name"] = backend
    if output:
        deck.setdefault("output", {})["dir"] = output
    name = deck.get("solver")
    if name is None:
        raise ConfigError("solver", "missing (expected a solver name; `zzhpc info` lists them)")
    if not isinstance(name, str):
        raise ConfigError("solver", "expected a string", name)
    cls = get_solver(name)
    cfg = validate(deck, full_schema(cls), base_dir=base_dir)
    if not cfg["output"]["dir"]:
        cfg["output"]["dir"] = os.path.join("runs", name)
    run = cfg["run"]
    if run["steps"] == 0 and run["t_end"] is None:
        raise ConfigError("run.steps", "give run.steps > 0 or run.t_end", 0)
    cls.check_config(cfg, nranks)
    return cls, cfg


def load_config(path, nranks, overrides=(), backend=None, output=None):
    deck = apply_overrides(load_deck(path), overrides)
    return resolve(deck, nranks, base_dir=os.path.dirname(os.path.abspath(path)), backend=backend, output=output)
