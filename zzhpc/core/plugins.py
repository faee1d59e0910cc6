"""Plug-ins of the run loop, after PyFR's integrator plug-ins: objects the loop calls, in order, at the start
of the run, after every step and at the end.

The loop's own duties are plug-ins too (diagnostics and the NaN check, field output, checkpoints, the
progress line, the agreement on stopping: :mod:`zzhpc.core.loopparts`), and so are the fault injectors of
the reliability tests (:mod:`zzhpc.core.faults`). A user callback is ``every(n, fn)``: ``fn(loop)`` after
every ``n``-th step. Named plug-ins are registered with :func:`register_plugin` and chosen in the deck,
``run.plugins = ["NAME:key=value,key=value"]`` (``--set "run.plugins=['slow:seconds=0.01']"``).
"""

from ..errors import ConfigError

PLUGINS = {}
#: The named plug-ins zzhpc ships, ``name -> module`` (imported when a deck names one; the module registers
#: its classes with :func:`register_plugin`). Listed here, not imported, so that no module imports back.
BUILTIN = {"fault": "zzhpc.core.faults", "slow": "zzhpc.core.faults"}


class Plugin:
    """Base class; override the hooks needed. ``loop`` is the :class:`~zzhpc.core.run.RunLoop` (solver,
    communicator, configuration, output folder, timers, provenance, the latest diagnostics)."""

    name = None

    def start(self, loop):
        """Collective: after the initial state is set (fresh or restored), before the first step."""

    def after_step(self, loop):
        """Collective: after each step (``loop.solver.step`` is the step just taken)."""

    def finish(self, loop):
        """Collective: after the last step, ``loop.status`` set (``done`` or ``interrupted``)."""


class Every(Plugin):
    """``fn(loop)`` after every ``n``-th step."""

    def __init__(self, n, fn):
        if int(n) < 1:
            raise ValueError(f"every(n, fn) needs n >= 1, not {n}")
        self.n, self.fn = int(n), fn

    def after_step(self, loop):
        if loop.solver.step % self.n == 0:
            self.fn(loop)


def every(n, fn):
    """A plug-in calling ``fn(loop)`` after every ``n``-th step."""
    return Every(n, fn)


def register_plugin(cls):
    """Class decorator: make ``cls`` choosable by its ``name`` in ``run.plugins``."""
    PLUGINS[cls.name] = cls
    return cls


def _value(text):
    """An int or a float when ``text`` is written as one (not the words nan/inf), else the text."""
    for conv in (int, float):
        try:
            value = conv(text)
        except ValueError:
            continue
        return value if text.strip().lstrip("+-")[:1].isdigit() or text.strip()[:1] == "." else text
    return text


def parse_spec(spec, key="run.plugins"):
    """``"NAME:k=v,k=v"`` -> ``(plug-in class, {k: v})``; ConfigError naming the fault."""
    import importlib

    for module in sorted(set(BUILTIN.values())):
        importlib.import_module(module)
    name, _, rest = str(spec).partition(":")
    if name not in PLUGINS:
        raise ConfigError(
            key,
            f"no plug-in '{name}' (known: {', '.join(sorted(PLUGINS))}); expected 'NAME' or 'NAME:key=value,...'",
            spec,
        )
    kwargs = {}
    for item in filter(None, rest.split(",")):
        k, eq, v = item.partition("=")
        if not eq:
            raise ConfigError(key, f"'{item}' is not key=value", spec)
        kwargs[k.strip()] = _value(v.strip())
    cls = PLUGINS[name]
    check = getattr(cls, "check", None)
    if check:
        problem = check(**kwargs) if _accepts(cls, kwargs) else f"takes {cls.params}"
        if problem:
            raise ConfigError(key, problem, spec)
    return cls, kwargs


def _accepts(cls, kwargs):
    return set(kwargs) <= set(getattr(cls, "params", ()))


def make_plugins(specs):
    """Plug-in objects for the ``run.plugins`` entries."""
    return [cls(**kw) for cls, kw in (parse_spec(s) for s in specs)]
