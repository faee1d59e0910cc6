"""Which solvers need float64: asked of each solver's own deck checks, not guessed."""

from ..errors import ConfigError


def float64_needs():
    """``{solver: (needs_float64, why)}`` with ``needs_float64`` True, False or None (undetermined).

    A solver needs float64 when it declares :attr:`~zzhpc.core.Solver.requires_float64` or when its deck
    check rejects ``backend.dtype = "float32"`` on a minimal deck (the NumPy backend, default keys, one
    step): the check is asked too, so an undeclared need is still found.
    """
    from ..core.deck import resolve
    from ..core.registry import get_solver, solver_names

    out = {}
    for name in solver_names():
        cls = get_solver(name)
        if cls.requires_float64:
            out[name] = (True, "declared by the solver (requires_float64)")
            continue
        deck = {"solver": name, "backend": {"name": "numpy", "dtype": "float32"}, "run": {"steps": 1}}
        try:
            resolve(deck, 1)
            out[name] = (False, "accepts backend.dtype = 'float32'")
        except ConfigError as exc:
            if exc.key == "backend.dtype":
                out[name] = (True, str(exc).split(": ", 2)[-1])
            else:
                out[name] = (None, f"undetermined: a minimal deck needs {exc.key}")
        except Exception as exc:
            out[name] = (None, f"undetermined: {type(exc).__name__}: {exc}")
    return out


def float64_summary(needs):
    """One line for the report: the solvers that cannot run on a device without float64."""
    no = sorted(n for n, (v, _) in needs.items() if v)
    unk = sorted(n for n, (v, _) in needs.items() if v is None)
    text = f"solvers that cannot run without float64: {', '.join(no) if no else 'none'}"
    if unk:
        text += f"; not determined: {', '.join(unk)}"
    return text


def precision_modes(float64, needs=None):
    """``{solver: [mode, ...]}``: the precision modes each solver runs on a device with (``float64``
    True) or without float64.

    Modes: ``"float64"`` (uniform, backend.dtype float64), ``"float32"`` (uniform, all single),
    ``"mixed"`` (``backend.precision = "mixed"``, declared by the solver's ``precisions``: float32
    forces with float64 sums and state, or on a device without float64 float32 state with compensated
    sums; docs/precision.md). Float32 support is that of :func:`float64_needs` (``?`` when undetermined).
    """
    from ..core.registry import get_solver, solver_names

    needs = float64_needs() if needs is None else needs
    out = {}
    for name in solver_names():
        cls = get_solver(name)
        need64 = needs.get(name, (None, ""))[0]
        f32 = {False: "float32", None: "float32?"}.get(need64)
        modes = (["float64"] if float64 else []) + ([f32] if f32 else [])
        if "mixed" in getattr(cls, "precisions", ("uniform",)) and (float64 or f32):
            modes.append("mixed")
        out[name] = modes
    return out
