"""TOML input decks: parsing, ``--set`` overrides and validation against a schema."""

from .schema import Param, Section, validate, common_schema, describe
from .loader import load_deck, apply_overrides, parse_value

__all__ = ["Param", "Section", "validate", "common_schema", "describe", "load_deck", "apply_overrides", "parse_value"]
