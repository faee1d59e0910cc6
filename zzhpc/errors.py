"""Exceptions that the CLI turns into one-line messages and exit codes."""


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
