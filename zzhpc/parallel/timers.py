"""Per-phase wall-clock timers, reduced over ranks for ``summary.json``.

Phases nest: time spent in an inner phase (``halo``) is not also counted in the outer one (``compute``).
"""
import time

from mpi4py import MPI

PHASES = ("compute", "halo", "alltoall", "reduction", "io", "checkpoint")


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
