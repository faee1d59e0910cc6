"""The run loop shared by every solver: steps, diagnostics, output, checkpoints, signals, summary."""
import datetime
import glob
import math
import os
import resource
import signal
import sys
import time

import h5py
from mpi4py import MPI

from ..device import get_backend
from ..errors import ConfigError, InputError, SimulationError
from ..io import CheckpointManager, CsvSeries, provenance, runlock, write_json_atomic, write_xdmf
from ..io.checkpoint import FORMAT as CHECKPOINT_FORMAT, open_checkpoint
from ..io.hdf5 import guarded_write, write_attrs
from ..parallel import PhaseTimers
from .._version import __version__

STOP_SIGNALS = ("SIGTERM", "SIGUSR1")
EXIT_INTERRUPTED = 0  # a clean checkpoint-and-stop; Slurm's requeue logic runs in the job script


class _StopFlag:
    def __init__(self):
        self.signal = None

    def __call__(self, signum, frame):
        self.signal = signal.Signals(signum).name


def _fmt_eta(seconds):
    if not math.isfinite(seconds):
        return "?"
    return str(datetime.timedelta(seconds=int(seconds)))


class Progress:
    """Rank 0's progress line on stderr: at most one every ``every`` seconds."""

    def __init__(self, name, enabled, every):
        self.name, self.enabled, self.every = name, enabled, every
        self.t0 = self.last = time.perf_counter()

    def show(self, step, sim_time, frac, diags, force=False, steps_done=0):
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < self.every):
            return
        self.last = now
        rate = steps_done / max(now - self.t0, 1e-12)
        eta = (now - self.t0) * (1 - frac) / frac if frac > 0 else float("nan")
        keys = list(diags)[:3]
        extra = " ".join(f"{k}={diags[k]:.6g}" for k in keys)
        sys.stderr.write(f"[{self.name}] step {step} t={sim_time:.6g} {100 * frac:5.1f}% "
                         f"{rate:.3g} steps/s ETA {_fmt_eta(eta)} | {extra}\n")
        sys.stderr.flush()


def _parse_fault(text):
    """``ZZHPC_FAULT=kind:rank:step`` (kind = raise, kill, nan): deliberate faults for reliability tests."""
    if not text:
        return None
    try:
        kind, rank, step = text.split(":")
        if kind not in ("raise", "kill", "nan"):
            raise ValueError
        return kind, int(rank), int(step)
    except ValueError:
        raise ConfigError("ZZHPC_FAULT", "expected kind:rank:step with kind raise, kill or nan", text) from None


def _inject(fault, rank, solver):
    kind, frank, fstep = fault
    if rank != frank or solver.step != fstep:
        return
    sys.stderr.write(f"zzhpc: rank {rank}: injecting fault '{kind}' at step {solver.step} (t_wall={time.time():.3f})\n")
    sys.stderr.flush()
    if kind == "raise":
        raise RuntimeError(f"injected fault at step {solver.step}")
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    solver.poison()


def _memory_hwm_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _lock_output_dir(outdir, comm):
    """Rank 0 locks the output folder for the whole run (:mod:`zzhpc.io.runlock`): a second run into it
    (or a restart while ranks of a killed job still live) stops with one clear error instead of both
    writing the same checkpoints. Returns the open lock file (rank 0) or None."""
    fh, err = None, None
    if comm.Get_rank() == 0:
        fh, busy = runlock.acquire(outdir)
        if busy:
            err = (f"in use by another zzhpc run ({busy}); wait for it to end, or give another "
                   f"--output (after a kill, a job's ranks may still be alive)")
    err = comm.bcast(err, root=0)
    if err:
        raise _collective(InputError(outdir, err))
    return fh


def run(solver_cls, cfg, comm=MPI.COMM_WORLD, *, quiet=False, install_signals=True):
    """Run a validated configuration; returns the summary dict (on every rank)."""
    outdir = os.path.abspath(cfg["output"]["dir"])
    lock = _lock_output_dir(outdir, comm)
    try:
        return _run(solver_cls, cfg, comm, outdir, quiet=quiet, install_signals=install_signals)
    finally:
        if lock is not None:
            lock.close()


def _run(solver_cls, cfg, comm, outdir, *, quiet, install_signals):
    rank = comm.Get_rank()
    runc, outc = cfg["run"], cfg["output"]
    start_iso = datetime.datetime.now(datetime.timezone.utc).isoformat()
    wall0 = time.perf_counter()

    backend = get_backend(cfg["backend"]["name"], cfg["backend"]["device"], comm=comm,
                          gpu_aware_mpi=cfg["backend"]["gpu_aware_mpi"])
    if cfg["backend"]["dtype"] == "float64" and not backend.float64:
        raise ConfigError("backend.dtype", f"device {backend.device} has no float64; use float32", "float64")
    timers = PhaseTimers(sync=backend.synchronize)
    from .solver import RunContext
    ctx = RunContext(comm=comm, backend=backend, timers=timers, output_dir=outdir, seed=runc["seed"],
                     dims=cfg["parallel"]["dims"], dtype=cfg["backend"]["dtype"],
                     precision=cfg["backend"]["precision"])
    solver = solver_cls(ctx, cfg)
    grid = getattr(solver, "grid_description", lambda: None)()
    prov = provenance(comm, cfg, backend, grid, seeds={"seed": runc["seed"]}, start_time=start_iso)
    ckpt = CheckpointManager(os.path.join(outdir, "checkpoints"), comm, keep=runc["keep_checkpoints"])

    # Fresh start or restart.
    restart_path = None
    if runc["restart"] == "auto":
        restart_path = ckpt.latest()
    elif runc["restart"] != "none":
        restart_path = runc["restart"]
    if restart_path:
        with timers("io"):
            _restore(solver, restart_path, comm)
    else:
        with timers("compute"):
            solver.initialise()
    start_step = solver.step

    target_steps = runc["steps"] or None
    t_end = runc["t_end"]

    def fraction():
        fr = []
        if target_steps:
            fr.append(solver.step / target_steps)
        if t_end:
            fr.append(solver.time / t_end)
        return min(1.0, max(fr)) if fr else 0.0

    def done():
        if target_steps and solver.step >= target_steps:
            return True
        if solver.finished():
            return True
        return bool(t_end) and solver.time >= t_end * (1 - 1e-12)

    fault = _parse_fault(os.environ.get("ZZHPC_FAULT"))
    slow = float(os.environ.get("ZZHPC_SLOW_STEP", "0") or 0)  # tests: widen the window for signals
    stop = _StopFlag()
    old_handlers = {}
    if install_signals:
        for name in STOP_SIGNALS:
            sig = getattr(signal, name)
            old_handlers[sig] = signal.signal(sig, stop)

    csv = CsvSeries(os.path.join(outdir, "diagnostics.csv"), restart_step=start_step if restart_path else None) \
        if rank == 0 else None
    progress = Progress(solver_cls.name, rank == 0 and not quiet, runc["progress_every"])
    xdmf_entries = _existing_field_entries(outdir, start_step) if rank == 0 else []
    outputs = []
    diags = {}
    status = "running"

    def diagnose():
        nonlocal diags
        with timers("reduction"):
            bad = solver.nonfinite_field()
            diags = solver.diagnostics()
        if bad is None:
            bad = next((k for k, v in diags.items() if isinstance(v, float) and not math.isfinite(v)), None)
        if bad is not None:
            ranks = [r for r, v in enumerate(comm.allgather(solver.local_nonfinite_field())) if v]
            where = f" on rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}" if ranks else ""
            err = SimulationError(f"non-finite values (NaN/Inf) in '{bad}'{where} at step {solver.step} "
                                  f"(t = {solver.time:.6g}); try a smaller run.dt")
            err.collective = True
            raise err
        if rank == 0:
            csv.append(dict({"step": solver.step, "time": solver.time}, **diags))

    def write_fields():
        if not outc["fields"]:
            return
        fdir = os.path.join(outdir, "fields")
        if rank == 0:
            os.makedirs(fdir, exist_ok=True)
        comm.Barrier()
        path = os.path.join(fdir, f"fields_{solver.step:010d}.h5")
        with timers("io"), guarded_write(path, comm, "field output") as f:
            write_attrs(f, {"time": solver.time, "step": solver.step, "solver": solver_cls.name,
                            "provenance": prov})
            f.create_group("fields")
            comps = solver.write_fields(f)
        outputs.append(os.path.relpath(path, outdir))
        mesh = solver.xdmf_geometry()
        if rank == 0 and mesh and comps:
            prec = 4 if cfg["backend"]["dtype"] == "float32" else 8
            xdmf_entries[:] = [e for e in xdmf_entries if e["step"] != solver.step]
            xdmf_entries.append({"file": os.path.join("fields", os.path.basename(path)), "time": solver.time,
                                 "step": solver.step, "fields": comps, "precision": prec})
            write_xdmf(os.path.join(outdir, "fields.xdmf"), xdmf_entries, *mesh)  # shape, spacing[, origin]

    def checkpoint():
        def write(f):
            solver.save_state(f)
        meta = {"time": solver.time, "solver": solver_cls.name, "zzhpc_version": __version__,
                "ranks": comm.Get_size(), "provenance": prov}
        with timers("checkpoint"):
            return ckpt.save(solver.step, write, meta)

    if not restart_path:
        diagnose()
        if runc["output_every"]:
            write_fields()
    progress.show(solver.step, solver.time, fraction(), diags, force=True)
    loop0 = time.perf_counter()
    cpu0 = time.process_time()
    before_loop = timers.snapshot()
    while not done():
        with timers("compute"):
            solver.advance()
        if fault:
            _inject(fault, rank, solver)
        if slow:
            time.sleep(slow)
        s = solver.step
        if s % runc["diag_every"] == 0:
            diagnose()
        if runc["output_every"] and s % runc["output_every"] == 0:
            write_fields()
        if runc["checkpoint_every"] and s % runc["checkpoint_every"] == 0:
            checkpoint()
        progress.show(s, solver.time, fraction(), diags, steps_done=s - start_step)
        # Agree on stopping (signal on any rank, or the wall-time limit) so every rank stops together;
        # one small allreduce every stop_check_every steps.
        if s % runc["stop_check_every"]:
            continue
        over = runc["wall_limit"] is not None and time.perf_counter() - wall0 > runc["wall_limit"]
        if comm.allreduce(1 if (stop.signal or over) else 0, op=MPI.MAX):
            status = "interrupted"
            break

    loop_wall = time.perf_counter() - loop0
    loop_cpu = comm.allreduce(time.process_time() - cpu0, op=MPI.SUM)   # all threads of all ranks
    loop_totals = timers.snapshot()
    if solver.step % runc["diag_every"] != 0 or status == "interrupted":
        diagnose()
    if status != "interrupted":
        status = "done"
        if not (runc["output_every"] and solver.step % runc["output_every"] == 0):
            write_fields()
    last_ckpt = None
    if not (runc["checkpoint_every"] and solver.step % runc["checkpoint_every"] == 0 and solver.step > start_step):
        last_ckpt = checkpoint()
    progress.show(solver.step, solver.time, fraction(), diags, force=True, steps_done=solver.step - start_step)
    for sig, h in old_handlers.items():
        signal.signal(sig, h)

    results = solver.results()
    files = solver.finish(outdir)  # also after an interruption: plots of what was run
    wall = time.perf_counter() - wall0
    steps_run = solver.step - start_step
    phases = timers.reduce(comm)
    loop_phases = timers.reduce(comm, since=before_loop, until=loop_totals)
    mem = comm.gather(_memory_hwm_mb(), root=0)
    summary = {
        "solver": solver_cls.name, "status": status, "stop_signal": stop.signal,
        "ranks": comm.Get_size(), "backend": backend.describe(), "dtype": cfg["backend"]["dtype"],
        "precision": cfg["backend"]["precision"],
        "steps": solver.step, "steps_this_run": steps_run, "time": solver.time,
        "restarted_from": restart_path, "wall_time_s": wall,
        "time_per_step_s": loop_wall / steps_run if steps_run else None,
        "cpu_s_per_step": loop_cpu / steps_run if steps_run else None,
        "timers_s": phases,
        "loop_timers_s": loop_phases,
        "memory_hwm_mb": {"per_rank": mem, "max": max(mem) if mem else None} if rank == 0 else None,
        "diagnostics": diags, "results": results,
        "outputs": {"fields": outputs, "xdmf": "fields.xdmf" if xdmf_entries else None,
                    "diagnostics_csv": "diagnostics.csv", "checkpoint": last_ckpt or ckpt.latest(),
                    "files": files},
        "provenance": prov,
    }
    if rank == 0:
        write_json_atomic(os.path.join(outdir, "summary.json"), summary)
        if not quiet:
            sys.stderr.write(f"[{solver_cls.name}] {status}: {steps_run} steps in {wall:.3g} s on "
                             f"{comm.Get_size()} rank(s); summary: {os.path.join(outdir, 'summary.json')}\n")
    return summary


def _collective(exc):
    """Mark an error raised identically on every rank: the ranks exit together, rank 0 reports it."""
    exc.collective = True
    return exc


def _restore(solver, path, comm):
    f = open_checkpoint(path, comm)
    try:
        attrs = dict(f.attrs)
        fmt = int(attrs.get("checkpoint_format", 0))
        if fmt != CHECKPOINT_FORMAT:
            raise _collective(InputError(path, f"checkpoint format {fmt} (zzhpc {attrs.get('zzhpc_version', '?')}); this "
                                   f"zzhpc {__version__} reads format {CHECKPOINT_FORMAT}"))
        name = attrs.get("solver")
        if name != solver.name:
            raise _collective(InputError(path, f"checkpoint of solver '{name}', not '{solver.name}'"))
        ranks = int(attrs.get("ranks", -1))
        if ranks != comm.Get_size() and not solver.restart_any_ranks:
            raise _collective(InputError(path, f"written by {ranks} ranks; solver '{solver.name}' restarts "
                                               f"only on the same rank count (now {comm.Get_size()})"))
        solver.load_state(f, path)
        solver.time = float(attrs["time"])
        solver.step = int(attrs["step"])
    except KeyError as exc:
        raise InputError(path, f"missing checkpoint attribute {exc}") from None
    finally:
        f.close()


def _existing_field_entries(outdir, upto_step):
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
                entries.append({"file": os.path.join("fields", os.path.basename(path)),
                                "time": float(f.attrs["time"]), "step": step, "fields": fields,
                                "precision": prec})
        except (OSError, KeyError, StopIteration):
            continue
    return entries
