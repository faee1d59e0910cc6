"""The solver contract: data in, steps, diagnostics out, checkpoint/restore.

A solver subclasses :class:`Solver`, declares its deck section in ``schema`` and is registered with
``@register_solver``. The run loop (:mod:`zzhpc.core.run`) owns time stepping policy, diagnostics
output, checkpoints, signals and the summary; the solver owns its physics and its state.
"""
import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:  # annotations only: the core imports no MPI, device or parallel module here
    from mpi4py import MPI

    from ..device.base import Backend
    from ..parallel.timers import PhaseTimers

from ..config.schema import Section


@dataclass
class RunContext:
    """What the run loop hands a solver."""

    comm: "MPI.Comm"             # MPI communicator of the run
    backend: "Backend"           # the array backend on this rank's device
    timers: "PhaseTimers"        # phase timers (compute, halo, io, ...)
    output_dir: str = "."
    seed: int = 12345
    dims: List[int] = field(default_factory=list)   # [parallel] dims
    dtype: str = "float64"

    @property
    def rank(self) -> int:
        return self.comm.Get_rank()


class Solver(abc.ABC):
    """Base class of every solver.

    Subclasses set ``name``, ``description`` and ``schema`` (a :class:`~zzhpc.config.schema.Section`
    holding the keys of the deck's ``[<name>]`` table) and implement the methods below. Every method
    marked *collective* is called on all ranks.
    """

    name = None
    description = ""
    schema = Section()
    cases_module = None          # module defining validation/benchmark cases, imported on demand
    diagnostic_units = {}        # {diagnostic name: unit}: thermo header, diagnostics.csv, summary.json
    restart_any_ranks = False    # True if a checkpoint can be re-decomposed onto another rank count

    def __init__(self, ctx, cfg):
        self.ctx, self.cfg = ctx, cfg
        self.comm, self.backend, self.xp, self.timers = ctx.comm, ctx.backend, ctx.backend.xp, ctx.timers
        self.params = cfg.get(self.name, {})
        self.time = 0.0
        self.step = 0
        self.dt = cfg["run"]["dt"]

    @classmethod
    def check_config(cls, cfg, nranks):
        """Cross-key checks on the validated deck, before any work (raise ConfigError)."""

    def initialise(self):
        """Collective: the initial state of a fresh run."""

    @abc.abstractmethod
    def advance(self):
        """Collective: one time step; must update ``self.time`` and ``self.step``."""

    def local_nonfinite_field(self):
        """Not collective: name of a field of *this rank's* state holding NaN/Inf, or None. Optional:
        lets the NaN message name the ranks."""
        return None

    def finished(self):
        """Collective: True to end the run before run.steps/run.t_end (e.g. a steady state reached).

        Must return the same value on every rank."""
        return False

    def diagnostics(self):
        """Collective: scalar diagnostics ``{name: float}`` (same on every rank)."""
        return {}

    def nonfinite_field(self):
        """Collective: name of a state field holding NaN/Inf, or None."""
        return None

    def poison(self):
        """Put a NaN into the local state (fault-injection tests of the NaN detection)."""

    def mesh(self):
        """``(global_shape, spacing[, origin])`` for XDMF when fields live on a uniform mesh, else None.

        Without ``origin`` the points are cell centres (half a cell in from 0)."""
        return None

    def write_fields(self, h5):
        """Collective: write output fields under group ``fields``; return ``{name: components}``."""
        return {}

    def save_state(self, h5):
        """Collective: everything needed to continue bitwise (time and step are saved by the run loop)."""

    def load_state(self, h5, path):
        """Collective: restore what ``save_state`` wrote (``path`` is for error messages)."""

    def local_state(self):
        """Not collective: this rank's part of the evolving state, ``{name: array}`` (backend or host
        arrays; :meth:`zzhpc.Simulation.state` with ``gather=False`` returns them as host NumPy). Optional:
        the gathered state comes from :meth:`save_state` for every solver."""
        return {}

    def results(self):
        """Collective: key results for ``summary.json`` (after the last step)."""
        return {}

    def finish(self, output_dir):
        """Collective: closing work, e.g. plots on rank 0. Returns a list of files written."""
        return []
