"""Exceptions that the CLI turns into one-line messages and exit codes."""

import functools


class ZzhpcError(Exception):
    """A failure with a message meant for the user (no traceback is shown)."""

    exit_code = 1


class ConfigError(ZzhpcError):
    """An input deck or command-line value is wrong: names the key, the value and what is allowed."""

    exit_code = 2

    def __init__(self, key, message, value=None):
        self.key = key
        self.value = value
        shown = "" if value is None else f" = {value!r}"
        super().__init__(f"config: {key}{shown}: {message}")


class InputError(ZzhpcError):
    """A structure, data or restart file is missing, truncated, corrupt or inconsistent."""

    exit_code = 2

    def __init__(self, path, message):
        self.path = str(path)
        super().__init__(f"{path}: {message}")


class SimulationError(ZzhpcError):
    """The simulation itself failed (NaN in a field, a solver that did not converge)."""

    exit_code = 3


class NotSuitableError(Exception):
    """Raised by a kernel override that cannot serve a call; the generic kernel is used instead."""


class CollectiveError(ZzhpcError):
    """An error raised identically on every rank (a verdict the ranks agreed on): the ranks exit together
    and rank 0 alone reports it. Made with :func:`collective`, which keeps the error's own type, so
    ``except SimulationError`` still catches a collective NaN."""


@functools.cache
def _collective_type(cls):
    return type(f"Collective{cls.__name__}", (CollectiveError, cls), {"__module__": __name__})


def collective(exc):
    """``exc`` itself, now a :class:`CollectiveError` of its own type (message and exit code unchanged)."""
    if not isinstance(exc, CollectiveError):
        exc.__class__ = _collective_type(type(exc))
    return exc
