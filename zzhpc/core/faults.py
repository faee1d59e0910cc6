"""Fault injection for the reliability tests, as run-loop plug-ins (:mod:`zzhpc.core.plugins`).

- ``fault:kind=raise|nan|kill,rank=R,step=S``: at step S, rank R raises an exception, puts a NaN into its
  state (:meth:`Solver.poison`) or kills itself with SIGKILL;
- ``slow:seconds=X``: sleep X seconds after every step, to widen the window a test aims a signal at.

Chosen in the deck or on the command line: ``--set "run.plugins=['fault:kind=nan,rank=2,step=20']"``.
"""

import os
import signal
import sys
import time

from .plugins import Plugin, register_plugin

FAULT_KINDS = ("raise", "kill", "nan")


@register_plugin
class InjectFault(Plugin):
    """One deliberate fault on one rank at one step."""

    name = "fault"
    params = ("kind", "rank", "step")

    @staticmethod
    def check(kind=None, rank=None, step=None):
        if kind not in FAULT_KINDS or not isinstance(rank, int) or not isinstance(step, int):
            return "expected fault:kind=raise|kill|nan,rank=R,step=S"
        return None

    def __init__(self, kind, rank, step):
        self.kind, self.rank, self.step = kind, int(rank), int(step)

    def after_step(self, loop):
        solver = loop.solver
        if loop.rank != self.rank or solver.step != self.step:
            return
        sys.stderr.write(
            f"zzhpc: rank {loop.rank}: injecting fault '{self.kind}' at step {solver.step} (t_wall={time.time():.3f})\n"
        )
        sys.stderr.flush()
        if self.kind == "raise":
            raise RuntimeError(f"injected fault at step {solver.step}")
        if self.kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        solver.poison()


@register_plugin
class SlowSteps(Plugin):
    """Sleep after every step (tests: a window for signals and kills)."""

    name = "slow"
    params = ("seconds",)

    @staticmethod
    def check(seconds=None):
        if not isinstance(seconds, (int, float)) or seconds < 0:
            return "expected slow:seconds=X with X >= 0"
        return None

    def __init__(self, seconds):
        self.seconds = float(seconds)

    def after_step(self, loop):
        time.sleep(self.seconds)
