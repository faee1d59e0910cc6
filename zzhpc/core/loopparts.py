"""The run loop's own plug-ins: diagnostics with the NaN check, field output, checkpoints, the progress
line and the ranks' agreement on stopping. Each is called by :class:`zzhpc.core.run.RunLoop` in this order."""

import datetime
import glob
import math
import os
import signal
import sys
import time

import h5py
from mpi4py import MPI

from .._version import __version__
from ..errors import ConfigError, SimulationError, collective
from ..io import CsvSeries, write_xdmf
from ..io.hdf5 import guarded_write, write_attrs
from .plugins import Plugin

STOP_SIGNALS = ("SIGTERM", "SIGUSR1")


class Diagnostics(Plugin):
    """Diagnostics every ``run.diag_every`` steps into ``diagnostics.csv`` (rank 0), after checking the state
    for NaN/Inf: a non-finite value ends every rank together with :class:`SimulationError`."""

    def __init__(self, loop):
        self.every = loop.cfg["run"]["diag_every"]
        self.csv = (
            CsvSeries(
                os.path.join(loop.outdir, "diagnostics.csv"),
                restart_step=loop.start_step if loop.restart_path else None,
                provenance=loop.prov,
                units=dict(getattr(loop.solver, "diagnostic_units", {}) or {}),
            )
            if loop.rank == 0
            else None
        )

    def __call__(self, loop):
        solver, timers = loop.solver, loop.timers
        with timers("reduction"):
            bad = solver.nonfinite_field()
            loop.diags = solver.diagnostics()
        if bad is None:
            bad = next((k for k, v in loop.diags.items() if isinstance(v, float) and not math.isfinite(v)), None)
        if bad is not None:
            ranks = [r for r, v in enumerate(loop.comm.allgather(solver.local_nonfinite_field())) if v]
            where = f" on rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}" if ranks else ""
            raise collective(
                SimulationError(
                    f"non-finite values (NaN/Inf) in '{bad}'{where} at step {solver.step} "
                    f"(t = {solver.time:.6g}); try a smaller run.dt"
                )
            )
        if self.csv is not None:
            self.csv.append(dict({"step": solver.step, "time": solver.time}, **loop.diags))

    def start(self, loop):
        if not loop.restart_path:
            self(loop)

    def after_step(self, loop):
        if loop.solver.step % self.every == 0:
            self(loop)

    def finish(self, loop):
        if loop.solver.step % self.every != 0 or loop.status == "interrupted":
            self(loop)


class FieldWriter(Plugin):
    """Fields every ``run.output_every`` steps (and at the end) into ``fields/fields_<step>.h5``, each
    with the provenance record, and the XDMF index ``fields.xdmf`` for ParaView. A solver whose fields go
    elsewhere (a trajectory) leaves no empty field file behind."""

    def __init__(self, loop):
        self.enabled = loop.cfg["output"]["fields"]
        self.every = loop.cfg["run"]["output_every"]
        self.files = []
        self.xdmf_entries = existing_field_entries(loop.outdir, loop.start_step) if loop.rank == 0 else []

    def __call__(self, loop):
        if not self.enabled:
            return
        solver, comm, outdir = loop.solver, loop.comm, loop.outdir
        fdir = os.path.join(outdir, "fields")
        if loop.rank == 0:
            os.makedirs(fdir, exist_ok=True)
        comm.Barrier()
        path = os.path.join(fdir, f"fields_{solver.step:010d}.h5")
        with loop.timers("io"), guarded_write(path, comm, "field output") as f:
            write_attrs(f, {"time": solver.time, "step": solver.step, "solver": solver.name, "provenance": loop.prov})
            f.create_group("fields")
            comps = solver.write_fields(f)
        if not comps:  # the solver wrote its output elsewhere (md, water: trajectory.h5md)
            comm.Barrier()
            if loop.rank == 0:
                os.remove(path)
            return
        self.files.append(os.path.relpath(path, outdir))
        mesh = solver.xdmf_geometry()
        if loop.rank == 0 and mesh:
            prec = 4 if loop.cfg["backend"]["dtype"] == "float32" else 8
            self.xdmf_entries[:] = [e for e in self.xdmf_entries if e["step"] != solver.step]
            self.xdmf_entries.append(
                {
                    "file": os.path.join("fields", os.path.basename(path)),
                    "time": solver.time,
                    "step": solver.step,
                    "fields": comps,
                    "precision": prec,
                }
            )
            write_xdmf(os.path.join(outdir, "fields.xdmf"), self.xdmf_entries, *mesh)  # shape, spacing[, origin]

    def start(self, loop):
        if not loop.restart_path and self.every:
            self(loop)

    def after_step(self, loop):
        if self.every and loop.solver.step % self.every == 0:
            self(loop)

    def finish(self, loop):
        if loop.status != "interrupted" and not (self.every and loop.solver.step % self.every == 0):
            self(loop)


class Checkpointer(Plugin):
    """A checkpoint every ``run.checkpoint_every`` steps and at the end (:class:`zzhpc.io.CheckpointManager`)."""

    def __init__(self, loop, manager):
        self.manager, self.every = manager, loop.cfg["run"]["checkpoint_every"]
        self.last = None

    def __call__(self, loop):
        solver = loop.solver
        meta = {
            "time": solver.time,
            "solver": solver.name,
            "zzhpc_version": __version__,
            "ranks": loop.comm.Get_size(),
            "provenance": loop.prov,
        }
        with loop.timers("checkpoint"):
            self.last = self.manager.save(solver.step, solver.save_state, meta)

    def after_step(self, loop):
        if self.every and loop.solver.step % self.every == 0:
            self(loop)

    def finish(self, loop):
        s = loop.solver.step
        if not (self.every and s % self.every == 0 and s > loop.start_step):
            self(loop)
        else:
            self.last = None


def _fmt_eta(seconds):
    if not math.isfinite(seconds):
        return "?"
    return str(datetime.timedelta(seconds=int(seconds)))


class Progress(Plugin):
    """Rank 0's progress line on stderr: at most one every ``run.progress_every`` seconds."""

    def __init__(self, name, enabled, every):
        self.name, self.enabled, self.every = name, enabled, every
        self.t0 = self.last = time.perf_counter()

    def show(self, loop, force=False):
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < self.every):
            return
        self.last = now
        solver, frac = loop.solver, loop.end.fraction()
        rate = (solver.step - loop.start_step) / max(now - self.t0, 1e-12)
        eta = (now - self.t0) * (1 - frac) / frac if frac > 0 else float("nan")
        extra = " ".join(f"{k}={loop.diags[k]:.6g}" for k in list(loop.diags)[:3])
        sys.stderr.write(
            f"[{self.name}] step {solver.step} t={solver.time:.6g} {100 * frac:5.1f}% "
            f"{rate:.3g} steps/s ETA {_fmt_eta(eta)} | {extra}\n"
        )
        sys.stderr.flush()

    def start(self, loop):
        self.show(loop, force=True)

    def after_step(self, loop):
        self.show(loop)

    def finish(self, loop):
        self.show(loop, force=True)


class Thermo(Plugin):
    """LAMMPS-style thermo output: aligned columns (``run.thermo``) every ``run.thermo_every`` steps on rank
    0's stdout, a header line with units where the solver declares them (``Solver.diagnostic_units``)."""

    def __init__(self, loop):
        runc = loop.cfg["run"]
        self.cols = list(runc["thermo"])
        self.every = runc["thermo_every"] or runc["diag_every"]
        self.diag_every = runc["diag_every"]
        self.show = loop.rank == 0  # asked for in the deck: shown also with --quiet (which silences progress)
        self.t0 = time.perf_counter()

    def _values(self, loop):
        s = loop.solver
        # The loop's diagnostics are of this step on a diag_every step (they run before this part).
        fresh = loop.diags and s.step % self.diag_every == 0 and s.step != loop.start_step
        d = loop.diags if fresh else s.diagnostics()
        known = {"step": s.step, "time": s.time, "cpu": time.perf_counter() - self.t0, **d}
        missing = [c for c in self.cols if c not in known]
        if missing:
            raise collective(
                ConfigError(
                    "run.thermo",
                    f"no column {missing[0]!r} for solver '{s.name}'; expected among {', '.join(sorted(known))}",
                    missing[0],
                )
            )
        return [known[c] for c in self.cols]

    def line(self, loop):
        vals = self._values(loop)
        if self.show:
            out = []
            for v, w in zip(vals, self.widths):
                out.append(f"{v:>{w}d}" if isinstance(v, int) and not isinstance(v, bool) else f"{v:>{w}.6g}")
            sys.stdout.write(" ".join(out) + "\n")
            sys.stdout.flush()

    def start(self, loop):
        units = getattr(loop.solver, "diagnostic_units", {}) or {}
        self._values(loop)  # an unknown column ends the run before its first step
        tags = [f"[{units[c]}]" if c in units else "" for c in self.cols]
        self.widths = [max(12, len(c), len(t)) for c, t in zip(self.cols, tags)]
        if self.show:
            sys.stdout.write(" ".join(f"{c:>{w}s}" for c, w in zip(self.cols, self.widths)) + "\n")
            if any(tags):
                sys.stdout.write(" ".join(f"{t:>{w}s}" for t, w in zip(tags, self.widths)) + "\n")
        self.line(loop)

    def after_step(self, loop):
        if loop.solver.step % self.every == 0:
            self.line(loop)

    def finish(self, loop):
        if loop.solver.step % self.every != 0:
            self.line(loop)


class EndCondition:
    """When the run ends: ``run.steps`` or ``run.t_end``, whichever comes first, or the solver's own
    :meth:`~zzhpc.core.solver.Solver.finished`."""

    def __init__(self, solver, runc):
        self.solver, self.steps, self.t_end = solver, runc["steps"] or None, runc["t_end"]

    def fraction(self):
        fr = []
        if self.steps:
            fr.append(self.solver.step / self.steps)
        if self.t_end:
            fr.append(self.solver.time / self.t_end)
        return min(1.0, max(fr)) if fr else 0.0

    def reached(self):
        s = self.solver
        if self.steps and s.step >= self.steps:
            return True
        if s.finished():
            return True
        return bool(self.t_end) and s.time >= self.t_end * (1 - 1e-12)


class _StopFlag:
    def __init__(self):
        self.signal = None

    def __call__(self, signum, frame):
        self.signal = signal.Signals(signum).name


class StopCheck(Plugin):
    """Stop cleanly on SIGTERM/SIGUSR1 (any rank) or at ``run.wall_limit``: every ``run.stop_check_every``
    steps the ranks agree (one small allreduce), so all stop after the same step."""

    def __init__(self, loop, install_signals):
        runc = loop.cfg["run"]
        self.every, self.wall_limit, self.wall0 = runc["stop_check_every"], runc["wall_limit"], loop.wall0
        self.flag = _StopFlag()
        self.old = {}
        if install_signals:
            for name in STOP_SIGNALS:
                sig = getattr(signal, name)
                self.old[sig] = signal.signal(sig, self.flag)

    @property
    def signal(self):
        return self.flag.signal

    def after_step(self, loop):
        if loop.solver.step % self.every:
            return
        over = self.wall_limit is not None and time.perf_counter() - self.wall0 > self.wall_limit
        if loop.comm.allreduce(1 if (self.flag.signal or over) else 0, op=MPI.MAX):
            loop.stop("interrupted")

    def restore(self):
        for sig, h in self.old.items():
            signal.signal(sig, h)
        self.old = {}


def existing_field_entries(outdir, upto_step):
    """XDMF entries of field files already on disk (kept on restart up to the restart step)."""
    entries = []
    for path in sorted(glob.glob(os.path.join(outdir, "fields", "fields_*.h5"))):
        try:
            with h5py.File(path, "r") as f:
                step = int(f.attrs["step"])
                if step > upto_step:
                    continue
                fields = {k: int(f["fields"][k].attrs.get("components", 1)) for k in f["fields"]}
                prec = f["fields"][next(iter(f["fields"]))].dtype.itemsize if fields else 8
                entries.append(
                    {
                        "file": os.path.join("fields", os.path.basename(path)),
                        "time": float(f.attrs["time"]),
                        "step": step,
                        "fields": fields,
                        "precision": prec,
                    }
                )
        except (OSError, KeyError, StopIteration):
            continue
    return entries
