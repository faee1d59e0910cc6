"""The run loop shared by every solver: set-up, steps, plug-ins, summary.

:func:`run` claims the output folder (:mod:`zzhpc.io.outdir`: never overwrite another run's results),
builds the backend and the solver, starts fresh or restores a checkpoint, then :class:`RunLoop` advances
the solver and calls its plug-ins after every step (:mod:`zzhpc.core.plugins`; the loop's own duties are in
:mod:`zzhpc.core.loopparts`). A physical blow-up (NaN, atoms lost) still writes ``summary.json``, with
``status = "failed"``, the step and the reason.
"""

import datetime
import json
import os
import resource
import sys
import time

from mpi4py import MPI

from .._version import __version__
from ..device import get_backend
from ..errors import ConfigError, InputError, SimulationError, collective
from ..io import CheckpointManager, outdir as folder, runlock, write_json_atomic
from ..io.checkpoint import FORMAT as CHECKPOINT_FORMAT, latest_in, open_checkpoint
from ..io.provenance import provenance, set_current, stamp_outputs
from ..parallel import PhaseTimers
from .loopparts import Checkpointer, Diagnostics, EndCondition, FieldWriter, Progress, StopCheck, Thermo
from .plugins import make_plugins
from .solver import RunContext

EXIT_INTERRUPTED = 0  # a clean checkpoint-and-stop; Slurm's requeue logic runs in the job script


def _memory_hwm_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _say(comm, lines):
    """Rank 0: notes for the user on stderr (also under --quiet: they are not progress)."""
    if comm.Get_rank() == 0 and lines:
        for line in lines:
            sys.stderr.write(f"zzhpc: {line}\n")
        sys.stderr.flush()


def claim_output_dir(outdir, cfg, comm):
    """Collective, before any work: rank 0 makes sure ``outdir`` takes files, locks it for the whole run
    (:mod:`zzhpc.io.runlock`: one live run per folder) and applies the folder policy of
    :mod:`zzhpc.io.outdir` to an earlier run's results. Returns ``(open lock file or None, notes)``."""
    fh, err, notes = None, None, []
    if comm.Get_rank() == 0:
        err = folder.prepare(outdir)
        if not err:
            fh, busy = runlock.acquire(outdir)
            if busy:
                err = (
                    f"in use by another zzhpc run ({busy}); wait for it to end, or give another "
                    f"--output (after a kill, a job's ranks may still be alive)"
                )
        if not err:
            err, notes = _apply_policy(outdir, cfg)
            if err and fh is not None:
                fh.close()
                fh = None
    err, notes = comm.bcast((err, notes), root=0)
    if err:
        raise collective(InputError(outdir, err))
    return fh, notes


def _apply_policy(outdir, cfg):
    restart = cfg["run"]["restart"]
    found = folder.earlier_results(outdir)
    if restart == "auto":
        if latest_in(os.path.join(outdir, "checkpoints")):
            return None, []
        notes = [f"no checkpoint in {outdir}: starting from step 0"]
        if found:
            notes.append(f"{outdir}: the earlier run's files ({', '.join(found)}) moved to {folder.set_aside(outdir)}")
        return None, notes
    if restart != "none" and os.path.abspath(restart).startswith(os.path.join(outdir, "checkpoints") + os.sep):
        return None, []  # continuing the run of this folder from one of its own checkpoints
    if not found:
        return None, []
    if cfg["output"]["existing"] == "backup":
        return None, [f"{outdir}: the earlier run's files ({', '.join(found)}) moved to {folder.set_aside(outdir)}"]
    return folder.refusal(outdir, found), []


def run(
    solver_cls, cfg, comm=MPI.COMM_WORLD, *, quiet=False, install_signals=True, plugins=(), replay_of=None, notes=()
):
    """Run a validated configuration; returns the summary dict (on every rank).

    ``plugins`` are extra :class:`~zzhpc.core.plugins.Plugin` objects (e.g. ``every(n, fn)``), called after
    those named in ``run.plugins``; ``replay_of`` is the provenance file this run replays (recorded);
    ``notes`` are lines for the user, said once the output folder is claimed (an error is the only line)."""
    outdir = os.path.abspath(cfg["output"]["dir"])
    lock, claimed = claim_output_dir(outdir, cfg, comm)
    try:
        _say(comm, list(notes) + claimed)
        loop = RunLoop(solver_cls, cfg, comm, outdir, quiet=quiet, replay_of=replay_of)
        return loop.run(make_plugins(cfg["run"]["plugins"]) + list(plugins), install_signals)
    finally:
        if lock is not None:
            lock.close()


class RunLoop:
    """One run: the solver, its set-up and the state the plug-ins read (``solver``, ``comm``, ``rank``,
    ``cfg``, ``outdir``, ``timers``, ``prov``, ``diags``, ``start_step``, ``restart_path``, ``status``)."""

    def __init__(self, solver_cls, cfg, comm, outdir, *, quiet=False, replay_of=None):
        self.cfg, self.comm, self.outdir, self.quiet = cfg, comm, outdir, quiet
        self.rank = comm.Get_rank()
        self.start_iso = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.wall0 = time.perf_counter()
        runc, bc = cfg["run"], cfg["backend"]
        self.backend = get_backend(bc["name"], bc["device"], comm=comm, gpu_aware_mpi=bc["gpu_aware_mpi"])
        if bc["dtype"] == "float64" and not self.backend.float64:
            raise ConfigError("backend.dtype", f"device {self.backend.device} has no float64; use float32", "float64")
        self.timers = PhaseTimers(sync=self.backend.synchronize)
        ctx = RunContext(
            comm=comm,
            backend=self.backend,
            timers=self.timers,
            output_dir=outdir,
            seed=runc["seed"],
            dims=cfg["parallel"]["dims"],
            dtype=bc["dtype"],
            precision=bc["precision"],
        )
        self.solver = solver_cls(ctx, cfg)
        self.ckpt = CheckpointManager(os.path.join(outdir, "checkpoints"), comm, keep=runc["keep_checkpoints"])
        self.restart_path = (
            self.ckpt.latest()
            if runc["restart"] == "auto"
            else (None if runc["restart"] == "none" else runc["restart"])
        )
        self.restart_changed = {}
        run_id = None
        if self.restart_path:
            with self.timers("io"):
                run_id = self._restore(self.restart_path)
        else:
            with self.timers("compute"):
                self.solver.initialise()
        self.run_id = comm.bcast(run_id or folder.new_run_id(), root=0)
        self.ckpt.run_id = self.run_id
        self.start_step = self.solver.step
        grid = getattr(self.solver, "grid_description", lambda: None)()
        self.prov = provenance(
            comm,
            cfg,
            self.backend,
            grid,
            seeds={"seed": runc["seed"]},
            start_time=self.start_iso,
            run_id=self.run_id,
            replay_of=replay_of,
            restart_changed=self.restart_changed or None,
        )
        set_current(self.prov)
        self.end = EndCondition(self.solver, runc)
        self.diags, self.status = {}, "running"
        if runc["steps"] and runc["t_end"]:
            _say(
                comm,
                [
                    f"run.steps = {runc['steps']} and run.t_end = {runc['t_end']:g} both set: the run "
                    "stops at whichever comes first"
                ],
            )

    def stop(self, status):
        """Called by a plug-in: end the loop after this step with ``status``."""
        self.status = status

    # Restart ----------------------------------------------------------------------------------------
    def _restore(self, path):
        """Load the checkpoint; returns its run id (None for checkpoints written before run ids)."""
        solver, comm = self.solver, self.comm
        f = open_checkpoint(path, comm)
        try:
            attrs = dict(f.attrs)
            fmt = int(attrs.get("checkpoint_format", 0))
            if fmt != CHECKPOINT_FORMAT:
                raise collective(
                    InputError(
                        path,
                        f"checkpoint format {fmt} (zzhpc {attrs.get('zzhpc_version', '?')}); "
                        f"this zzhpc {__version__} reads format {CHECKPOINT_FORMAT}",
                    )
                )
            name = attrs.get("solver")
            if name != solver.name:
                raise collective(InputError(path, f"checkpoint of solver '{name}', not '{solver.name}'"))
            ranks = int(attrs.get("ranks", -1))
            if ranks != comm.Get_size() and not solver.restart_any_ranks:
                raise collective(
                    InputError(
                        path,
                        f"written by {ranks} ranks; solver '{solver.name}' restarts "
                        f"only on the same rank count (now {comm.Get_size()})",
                    )
                )
            self.restart_changed = self._changed_keys(path, attrs.get("provenance"))
            solver.load_state(f, path)
            solver.time = float(attrs["time"])
            solver.step = int(attrs["step"])
            rid = attrs.get("run_id")
        except KeyError as exc:
            raise InputError(path, f"missing checkpoint attribute {exc}") from None
        finally:
            f.close()
        return None if rid is None else str(rid)

    def _changed_keys(self, path, prov_text):
        """Keys of the solver's table that differ from the checkpoint's run. A solver's
        ``restart_fixed_keys`` (keys that only shape the initial state) are refused; others are recorded
        in provenance as ``restart_changed``, so the record says what the continued run used."""
        try:
            old = json.loads(prov_text)["config"].get(self.solver.name, {})
        except (TypeError, ValueError, KeyError, AttributeError):
            return {}
        new = self.cfg.get(self.solver.name, {})
        changed = {
            f"{self.solver.name}.{k}": {"checkpoint": old.get(k), "now": new.get(k)}
            for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)
        }
        fixed = [k for k in changed if k.split(".", 1)[1] in getattr(self.solver, "restart_fixed_keys", ())]
        if fixed:
            k = fixed[0]
            raise collective(
                ConfigError(
                    k,
                    f"a restart continues the checkpoint's state, which has {k} = "
                    f"{changed[k]['checkpoint']!r}; drop the --set, or start a fresh run "
                    f"into a new --output",
                    changed[k]["now"],
                )
            )
        return changed

    # The loop ---------------------------------------------------------------------------------------
    def run(self, extra_plugins=(), install_signals=True):
        """The whole run: :meth:`begin`, :meth:`advance` to the end condition, :meth:`finish`."""
        self.begin(extra_plugins, install_signals)
        self.advance()
        return self.finish()

    def begin(self, extra_plugins=(), install_signals=True):
        """Collective: set up the plug-ins and call their ``start`` (the initial diagnostics, ...)."""
        runc = self.cfg["run"]
        self.fields = FieldWriter(self)
        self.checkpointer = Checkpointer(self, self.ckpt)
        self.stopper = StopCheck(self, install_signals)
        progress = Progress(self.solver.name, self.rank == 0 and not self.quiet, runc["progress_every"])
        # User and test plug-ins first (a fault injected at a step is seen by that step's NaN check).
        thermo = [Thermo(self)] if runc["thermo"] else []
        self.parts = (
            list(extra_plugins)
            + [Diagnostics(self)]
            + thermo
            + [self.fields, self.checkpointer, progress, self.stopper]
        )
        self.loop_wall, self._loop_cpu = 0.0, 0.0
        self._guarded(lambda: [p.start(self) for p in self.parts])
        self.before_loop = self.timers.snapshot()

    def add_plugin(self, plugin):
        """Collective: a plug-in joining a run already begun (before the loop's own parts)."""
        self.parts.insert(0, plugin)
        self._guarded(lambda: plugin.start(self))

    def advance(self, until_step=None, until_time=None, honour_end=True):
        """Collective: step until the end condition (``honour_end``), a plug-in's stop, ``until_step`` or
        ``until_time``, whichever comes first. Resumable: called again, it continues."""
        solver = self.solver
        t0, c0 = time.perf_counter(), time.process_time()

        def more():
            if self.status != "running" or (honour_end and self.end.reached()):
                return False
            if until_step is not None and solver.step >= until_step:
                return False
            return until_time is None or solver.time < until_time * (1 - 1e-12)

        def loop():
            while more():
                with self.timers("compute"):
                    solver.advance()
                for p in self.parts:
                    p.after_step(self)

        try:
            self._guarded(loop)
        finally:
            self.loop_wall += time.perf_counter() - t0
            self._loop_cpu += time.process_time() - c0

    def _guarded(self, fn):
        """Run ``fn``; a physical failure writes the failed summary and ends the run's hooks."""
        try:
            fn()
        except SimulationError as exc:
            self._write_failed_summary(exc)
            self.stopper.restore()
            set_current(None)
            raise

    def finish(self):
        """Collective: the plug-ins' ``finish`` (last diagnostics, fields, checkpoint), the solver's results
        and plots, ``summary.json``; returns the summary (on every rank)."""
        comm, solver = self.comm, self.solver
        loop_wall = self.loop_wall
        loop_cpu = comm.allreduce(self._loop_cpu, op=MPI.SUM)  # all threads of all ranks
        loop_totals = self.timers.snapshot()
        if self.status != "interrupted":
            self.status = "done"
        try:
            self._guarded(lambda: [p.finish(self) for p in self.parts])
        finally:
            self.stopper.restore()
            set_current(None)
        fields, ckpt, stopper, before_loop = self.fields, self.checkpointer, self.stopper, self.before_loop

        results = solver.results()
        files = solver.finish(self.outdir)  # also after an interruption: plots of what was run
        comm.Barrier()  # every rank closed its files: stamp them with the record
        if self.rank == 0:
            stamp_outputs(self.outdir, self.prov)
        wall = time.perf_counter() - self.wall0
        steps_run = solver.step - self.start_step
        phases = self.timers.reduce(comm)
        loop_phases = self.timers.reduce(comm, since=before_loop, until=loop_totals)
        mem = comm.gather(_memory_hwm_mb(), root=0)
        summary = self._summary(stopper.signal, wall, steps_run)
        summary.update(
            {
                "time_per_step_s": loop_wall / steps_run if steps_run else None,
                "cpu_s_per_step": loop_cpu / steps_run if steps_run else None,
                "timers_s": phases,
                "loop_timers_s": loop_phases,
                "memory_hwm_mb": {"per_rank": mem, "max": max(mem) if mem else None} if self.rank == 0 else None,
                "diagnostics": self.diags,
                "results": results,
                "outputs": {
                    "fields": fields.files,
                    "xdmf": "fields.xdmf" if fields.xdmf_entries else None,
                    "diagnostics_csv": "diagnostics.csv",
                    "checkpoint": ckpt.last or self.ckpt.latest(),
                    "files": files,
                },
                "provenance": self.prov,
            }
        )
        if self.rank == 0:
            write_json_atomic(os.path.join(self.outdir, "summary.json"), summary)
            if not self.quiet:
                sys.stderr.write(
                    f"[{solver.name}] {self.status}: {steps_run} steps in {wall:.3g} s on "
                    f"{comm.Get_size()} rank(s); summary: {os.path.join(self.outdir, 'summary.json')}\n"
                )
        return summary

    def _summary(self, stop_signal, wall, steps_run):
        s, bc = self.solver, self.cfg["backend"]
        return {
            "solver": s.name,
            "status": self.status,
            "stop_signal": stop_signal,
            "run_id": self.run_id,
            "ranks": self.comm.Get_size(),
            "backend": self.backend.describe(),
            "dtype": bc["dtype"],
            "precision": bc["precision"],
            "steps": s.step,
            "steps_this_run": steps_run,
            "time": s.time,
            "restarted_from": self.restart_path,
            "wall_time_s": wall,
            "diagnostic_units": dict(getattr(s, "diagnostic_units", {}) or {}),
        }

    def _write_failed_summary(self, exc):
        """Not collective: ``summary.json`` with ``status = "failed"``, the step and the reason, written by
        rank 0 for an error every rank raised, else by the rank that raised it."""
        from ..errors import CollectiveError

        if isinstance(exc, CollectiveError) and self.rank != 0:
            return
        self.status = "failed"
        summary = self._summary(None, time.perf_counter() - self.wall0, self.solver.step - self.start_step)
        summary.update(
            {"failed_at_step": self.solver.step, "reason": str(exc), "diagnostics": self.diags, "provenance": self.prov}
        )
        try:
            write_json_atomic(os.path.join(self.outdir, "summary.json"), summary)
        except OSError:
            pass  # the error itself is what the user must see
