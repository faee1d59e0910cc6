"""The ``zzhpc`` command: one module per sub-command, wired up in :mod:`zzhpc.cli.main`."""
