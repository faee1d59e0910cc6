"""Solvers, one sub-package each. A new solver is a new folder here (or a package with an entry point in
the group ``zzhpc.solvers``): nothing outside its folder needs editing. See docs/extending.md."""
