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
    for table, key, value in (("backend", "name", backend), ("output", "dir", output)):
        if value:
            if not isinstance(deck.setdefault(table, {}), dict):
                raise ConfigError(table, "expected a table", deck[table])
            deck[table][key] = value
    prec = os.environ.get("ZZHPC_PRECISION")  # `zzhpc validate/bench --precision`: a default, not an override
    if prec and isinstance(deck.get("backend", {}), dict) and "precision" not in deck.get("backend", {}):
        deck.setdefault("backend", {})["precision"] = prec
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
    prec = cfg["backend"]["precision"]
    if prec not in getattr(cls, "precisions", ("uniform",)):
        raise ConfigError(
            "backend.precision", f"solver {name} has no {prec} mode (it has: {', '.join(cls.precisions)})", prec
        )
    from .plugins import parse_spec

    for spec in run["plugins"]:
        parse_spec(spec)
    cls.check_config(cfg, nranks)
    return cls, cfg


def read_provenance(path):
    """The provenance record in a run's ``summary.json`` or in any HDF5 file zzhpc wrote (``.h5``,
    ``.h5md``); InputError "this file holds no provenance" for any other file."""
    import json
    from ..errors import InputError

    try:
        if path.endswith(".json"):
            with open(path) as fh:
                prov = json.load(fh)["provenance"]
        else:
            import h5py

            with h5py.File(path, "r") as f:
                prov = json.loads(f.attrs["provenance"])
        if not isinstance(prov, dict) or not isinstance(prov.get("config"), dict):
            raise KeyError("config")
    except (OSError, KeyError, ValueError, TypeError) as exc:
        why = (
            "not an HDF5 or JSON file zzhpc wrote"
            if isinstance(exc, (OSError, ValueError))
            else f"no record '{exc.args[0] if exc.args else exc}'"
        )
        raise InputError(
            path,
            f"this file holds no provenance ({why}); give a TOML deck, or the summary.json "
            "or an HDF5 file of a zzhpc run",
        ) from None
    return prov


def deck_from_provenance(path):
    """The resolved configuration recorded in a run's ``summary.json`` or in any of its HDF5 files."""
    deck = read_provenance(path)["config"]
    deck["run"]["restart"] = "none"

    def strip(d):  # unset optional keys are recorded as null, which TOML has no word for
        return {k: strip(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}

    return strip(deck)


PROVENANCE_SUFFIXES = (".json", ".h5", ".h5md", ".hdf5")


def is_provenance_file(path):
    """True for a file whose configuration comes from its provenance record (a replay), not from TOML."""
    return str(path).endswith(PROVENANCE_SUFFIXES) and os.path.isfile(path)


def load_config(path, nranks, overrides=(), backend=None, output=None):
    """Configuration from a TOML deck, or from the provenance of a previous run (summary.json / .h5)."""
    if is_provenance_file(path):
        deck = apply_overrides(deck_from_provenance(str(path)), overrides)
    else:
        deck = apply_overrides(load_deck(path), overrides)
    return resolve(deck, nranks, base_dir=os.path.dirname(os.path.abspath(path)), backend=backend, output=output)
