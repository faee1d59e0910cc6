"""Per-phase wall-clock timers, reduced over ranks for ``summary.json``.

Phases nest: time spent in an inner phase (``halo``) is not also counted in the outer one (``compute``).
Phase names are the constants below: the performance model (:mod:`zzhpc.scaling.model`) compares its
``compute``, ``halo``, ``alltoall`` and ``reduction`` terms with the phases of these names, so code that
does such work times it under the constant, never a free string. A solver may time further phases of its
own (``forces``, ``pressure_solve``); they are reported, not modelled.
"""

import time

from mpi4py import MPI

PHASE_COMPUTE = "compute"  # local arithmetic of a step
PHASE_HALO = "halo"  # ghost exchange with the neighbours (stencils, particle ghosts, migration)
PHASE_ALLTOALL = "alltoall"  # the all-to-all of a distributed FFT's transposes
PHASE_REDUCTION = "reduction"  # global reductions (diagnostics, time-step control, convergence)
PHASE_IO = "io"  # field output
PHASE_CHECKPOINT = "checkpoint"  # checkpoint writing

#: Phases the performance model has a term for, in the order reports show them.
MODEL_PHASES = (PHASE_COMPUTE, PHASE_HALO, PHASE_ALLTOALL, PHASE_REDUCTION)
#: Every phase named by the core and the parallel layer.
PHASES = MODEL_PHASES + (PHASE_IO, PHASE_CHECKPOINT)


class PhaseTimers:
    def __init__(self, sync=None):
        self.totals = {}
        self.counts = {}
        self._stack = []
        self._sync = sync  # device synchronisation, so asynchronous kernels are charged to their phase

    def push(self, phase):
        now = time.perf_counter()
        if self._stack:
            outer, t0 = self._stack[-1]
            self.totals[outer] = self.totals.get(outer, 0.0) + now - t0
        self._stack.append([phase, now])

    def pop(self):
        if self._sync is not None:
            self._sync()
        now = time.perf_counter()
        phase, t0 = self._stack.pop()
        self.totals[phase] = self.totals.get(phase, 0.0) + now - t0
        self.counts[phase] = self.counts.get(phase, 0) + 1
        if self._stack:
            self._stack[-1][1] = now

    def __call__(self, phase):
        timers = self

        class _Ctx:
            def __enter__(self):
                timers.push(phase)

            def __exit__(self, *exc):
                timers.pop()

        return _Ctx()

    def snapshot(self):
        """The totals so far, to time a part of the run with ``reduce(comm, since=...)``."""
        return dict(self.totals)

    def reduce(self, comm, since=None, until=None):
        """``{phase: {"min", "mean", "max"}}`` seconds over the ranks of ``comm`` (collective).

        ``since`` and ``until``, two :meth:`snapshot` results, restrict it to the time between them."""
        since, until = since or {}, self.totals if until is None else until
        names = sorted(set().union(*comm.allgather(sorted(until))))
        out = {}
        for name in names:
            t = until.get(name, 0.0) - since.get(name, 0.0)
            lo = comm.allreduce(t, op=MPI.MIN)
            hi = comm.allreduce(t, op=MPI.MAX)
            mean = comm.allreduce(t, op=MPI.SUM) / comm.Get_size()
            out[name] = {"min": lo, "mean": mean, "max": hi}
        return out
