"""The solver contract: data in, steps, diagnostics out, checkpoint/restore.

A solver subclasses :class:`Solver`, declares its deck section in ``schema`` and is registered with
``@register_solver``. The run loop (:mod:`zzhpc.core.run`) owns time stepping policy, diagnostics
output, checkpoints, signals and the summary; the solver owns its physics and its state.

Everything the core, the conformance kit (:mod:`zzhpc.conformance`) and the scaling package
(:mod:`zzhpc.scaling`) ask of a solver is declared here with a default, so a solver from another package
is run, checked, scaled and projected by the same code as a built-in one.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..config.schema import Section
from . import perfmodel
from .perfmodel import Network, Projection, StepCost


@dataclass
class RunContext:
    """What the run loop hands a solver."""

    comm: Any  # MPI communicator of the run
    backend: Any  # zzhpc.device.Backend
    timers: Any  # zzhpc.parallel.PhaseTimers
    output_dir: str = "."
    seed: int = 12345
    dims: list = field(default_factory=list)  # [parallel] dims
    dtype: str = "float64"
    precision: str = "uniform"  # backend.precision: "uniform" or "mixed" (docs/precision.md)

    @property
    def mixed(self) -> bool:
        """True when forces are computed in float32 and accumulated in ``dtype`` (mixed precision)."""
        return self.precision == "mixed"

    @property
    def rank(self) -> int:
        return self.comm.Get_rank()


class Solver(abc.ABC):
    """Base class of every solver.

    Subclasses set ``name``, ``description`` and ``schema`` (a :class:`~zzhpc.config.schema.Section`
    holding the keys of the deck's ``[<name>]`` table) and implement the methods below. Every method
    marked *collective* is called on all ranks.
    """

    name: ClassVar[str | None] = None
    description: ClassVar[str] = ""
    schema: ClassVar[Any] = Section()  # a Section, or a dict of Param
    cases_module: ClassVar[str | None] = None  # module defining validation/benchmark cases, imported on demand
    #: ``{diagnostic name: unit}``: the thermo header and ``summary.json`` (``diagnostic_units``).
    diagnostic_units: ClassVar[dict[str, str]] = {}
    restart_any_ranks: ClassVar[bool] = False  # True if a checkpoint can be re-decomposed onto another rank count
    #: ``backend.precision`` modes it implements (``"mixed"``: docs/precision.md).
    precisions: ClassVar[tuple[str, ...]] = ("uniform",)
    #: True if the solver cannot run in float32 (the conformance kit then skips it on backends without float64).
    requires_float64: ClassVar[bool] = False
    #: What cost and memory are proportional to, in tables: "grid point", "atom", "replica".
    work_unit: ClassVar[str] = "unit"
    #: ``SECTION.KEY`` of the deck that a weak-scaling sweep grows P-fold (an integer or an array of them).
    weak_scaling_key: ClassVar[str | None] = None
    #: A module holding the solver's performance model: functions named as the class methods of the
    #: performance model below (``work_units``, ``model_params``, ``step_model``, ``target_params``,
    #: ``projections``, ``describe_units``), with the same arguments less ``cls``. Those it defines
    #: replace the defaults; overriding the class methods does the same.
    cost_model: ClassVar[Any] = None

    def __init__(self, ctx: RunContext, cfg: dict) -> None:
        self.ctx, self.cfg = ctx, cfg
        self.comm, self.backend, self.xp, self.timers = ctx.comm, ctx.backend, ctx.backend.xp, ctx.timers
        self.params = cfg.get(self.name, {})
        self.time = 0.0
        self.step = 0
        self.dt = cfg["run"]["dt"]

    @classmethod
    def check_config(cls, cfg: dict, nranks: int) -> None:
        """Cross-key checks on the validated deck, before any work (raise ConfigError)."""

    def grid_description(self) -> dict | None:
        """The decomposition in words for ``summary.json`` and the start-up line (process grid, local
        sizes), or None."""
        return None

    def initialise(self) -> None:
        """Collective: the initial state of a fresh run."""

    @abc.abstractmethod
    def advance(self) -> None:
        """Collective: one time step; must update ``self.time`` and ``self.step``."""

    def local_nonfinite_field(self) -> str | None:
        """Not collective: name of a field of *this rank's* state holding NaN/Inf, or None. Optional:
        lets the NaN message name the ranks."""
        return None

    def finished(self) -> bool:
        """Collective: True to end the run before run.steps/run.t_end (e.g. a steady state reached).

        Must return the same value on every rank."""
        return False

    def diagnostics(self) -> dict[str, float]:
        """Collective: scalar diagnostics ``{name: float}`` (same on every rank)."""
        return {}

    def nonfinite_field(self) -> str | None:
        """Collective: name of a state field holding NaN/Inf, or None."""
        return None

    def poison(self) -> None:
        """Put a NaN into the local state (fault-injection tests of the NaN detection)."""

    def xdmf_geometry(self) -> tuple | None:
        """``(global_shape, spacing[, origin])`` of the uniform mesh the output fields live on, for the
        XDMF description of field files; None when fields are not on such a mesh.

        Without ``origin`` the points are cell centres (half a cell in from 0)."""
        return None

    def write_fields(self, h5: Any) -> dict[str, int]:
        """Collective: write output fields under group ``fields``; return ``{name: components}``."""
        return {}

    def save_state(self, h5: Any) -> None:
        """Collective: everything needed to continue bitwise (time and step are saved by the run loop)."""

    def load_state(self, h5: Any, path: str) -> None:
        """Collective: restore what ``save_state`` wrote (``path`` is for error messages)."""

    def local_state(self) -> dict:
        """Not collective: this rank's part of the evolving state, ``{name: array}`` (backend or host
        arrays; :meth:`zzhpc.Simulation.state` with ``gather=False`` returns them as host NumPy). Optional:
        the gathered state comes from :meth:`save_state` for every solver."""
        return {}

    def results(self) -> dict:
        """Collective: key results for ``summary.json`` (after the last step)."""
        return {}

    def finish(self, output_dir: str) -> list[str]:
        """Collective: closing work, e.g. plots on rank 0. Returns a list of files written."""
        return []

    # The performance model (``zzhpc scale``, ``zzhpc project``; docs/scaling.md). Class methods: they
    # read finished runs' summaries and describe problems far larger than any run.
    @classmethod
    def _cost(cls, name: str) -> Any:
        return getattr(cls.cost_model, name, None)

    @classmethod
    def work_units(cls, cfg: dict, results: dict | None = None) -> float | None:
        """Units of work (:attr:`work_unit`) of a validated configuration (``summary.json``'s
        provenance config) and its results; default: the product of :attr:`weak_scaling_key`'s value."""
        if cls._cost("work_units"):
            return cls._cost("work_units")(cfg, results or {})
        if not cls.weak_scaling_key:
            return None
        section, name = cls.weak_scaling_key.split(".", 1)
        value = (cfg.get(section) or {}).get(name)
        if value is None:
            return None
        return math.prod(value) if isinstance(value, list) else int(value)

    @classmethod
    def model_params(cls, cfg: dict, results: dict, dtype: str | None) -> dict:
        """The step model's parameters of one finished run: its validated configuration, its
        ``results`` and its ``dtype``. Default: ``units`` (:meth:`work_units`) and ``diag_every``."""
        if cls._cost("model_params"):
            return cls._cost("model_params")(cfg, results, dtype)
        return {"units": cls.work_units(cfg, results), "diag_every": (cfg.get("run") or {}).get("diag_every", 10)}

    @classmethod
    def step_model(cls, params: dict, ranks: int, net: Network) -> StepCost:
        """Work, memory and communication seconds per step on ``ranks`` ranks (:mod:`.perfmodel`).

        Default: the units split evenly over the ranks, no halo or all-to-all, one allreduce per
        diagnostics step. A solver with communication overrides it."""
        if cls._cost("step_model"):
            return cls._cost("step_model")(params, ranks, net)
        units = params["units"]
        return {
            "work": units / ranks,
            "memory": units / ranks,
            "halo": 0.0,
            "alltoall": 0.0,
            "reduction": perfmodel.reductions(net, ranks, 1, params.get("diag_every", 10)),
        }

    @classmethod
    def target_params(cls, units: float, **geometry: Any) -> dict:
        """Step model parameters of a problem of ``units`` units for a projection (a cube for a mesh);
        ``geometry`` comes from :meth:`projections`."""
        if cls._cost("target_params"):
            return cls._cost("target_params")(units, **geometry)
        return {"units": units, "diag_every": geometry.get("diag_every", 100)}

    @classmethod
    def projections(cls, cal: dict, options: dict, headline: bool = False) -> list[Projection]:
        """How to project calibration ``cal``: one :class:`~.perfmodel.Projection` for
        ``zzhpc project predict`` (``headline=False``), every variant and its headline targets for
        ``zzhpc project headline``. ``options`` are the command's options (``decomposition``, ...)."""
        if cls._cost("projections"):
            return cls._cost("projections")(cal, options, headline)
        return [Projection()]

    @classmethod
    def describe_units(cls, units: float) -> str:
        """Words after a unit count in projection tables (a mesh: its side, ``" (1,000^3)"``)."""
        if cls._cost("describe_units"):
            return cls._cost("describe_units")(units)
        return ""
