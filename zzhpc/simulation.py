"""``zzhpc.Simulation``: one object for every solver, for notebooks, scripts and extenders.

In the manner of OpenMM's ``Simulation`` and HOOMD's ``hoomd.Simulation``: build from a deck (a TOML path
or a dict) with overrides, step it any number of times, look at its state and diagnostics, add callbacks,
write checkpoints and restart from them. It drives the same run loop as ``zzhpc run``
(:class:`zzhpc.core.run.RunLoop`: the same output folder policy, outputs, checkpoints, provenance), so a
run made in a notebook is a run like any other. Works at one rank in a plain Python or Jupyter session
and under ``mpiexec -n P python script.py`` (every rank builds and steps the same object: the calls are
collective).

>>> sim = zzhpc.Simulation("examples/lj_melt.toml", set={"md.cells": [4, 4, 4]}, output="runs/lj-nb")
>>> sim.run(100)
>>> sim.every(50, lambda s: print(s.step, s.diagnostics_now["temp"]))
>>> x = sim.state()["x"]          # gathered on every rank, host NumPy, ordered by atom id
>>> sim.close()                   # final outputs, checkpoint and summary.json
"""

import copy
import os

import numpy as np

from .errors import ZzhpcError


def _deck_of(deck, overrides):
    """A deck dict from a path (TOML or a run's provenance file) or a dict, with ``{key.path: value}``."""
    from .config.loader import load_deck, set_key
    from .core.deck import deck_from_provenance, is_provenance_file

    if isinstance(deck, dict):
        d, base = copy.deepcopy(deck), os.getcwd()
    else:
        path = os.fspath(deck)
        d = deck_from_provenance(path) if is_provenance_file(path) else load_deck(path)
        base = os.path.dirname(os.path.abspath(path))
    for key, value in (overrides or {}).items():
        set_key(d, key, value)
    return d, base


class Simulation:
    """A run of any registered solver, stepped from Python.

    Parameters
    ----------
    deck : str, path or dict
        TOML input deck, a previous run's ``summary.json`` / HDF5 file (its recorded deck), or the deck
        as a dict (``{"solver": "heat", "heat": {...}, "run": {...}}``).
    set : dict, optional
        Overrides ``{"md.cells": [8, 8, 8], "run.dt": 0.002}`` (the ``--set`` of ``zzhpc run``).
    backend : str, optional
        Array backend (``numpy``, ``torch``, ``cupy``, ...); overrides ``backend.name``.
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD`` (one rank in a plain Python session).
    output : str, optional
        Output folder (``output.dir``); the folder policy of ``zzhpc run`` applies (an earlier run's
        results are never overwritten).
    restart : str, optional
        ``"auto"`` or a checkpoint file to continue from.
    quiet : bool
        No progress lines (default True: notebooks show what the callbacks print).
    """

    def __init__(self, deck, set=None, backend=None, comm=None, output=None, restart=None, quiet=True):
        from mpi4py import MPI

        from .core.deck import resolve
        from .core.registry import discover
        from .core.run import RunLoop, claim_output_dir

        self.comm = comm or MPI.COMM_WORLD
        discover()
        d, base = _deck_of(deck, set)
        if restart:
            d.setdefault("run", {})["restart"] = str(restart)
        self.solver_cls, self.cfg = resolve(d, self.comm.Get_size(), base_dir=base, backend=backend, output=output)
        outdir = os.path.abspath(self.cfg["output"]["dir"])
        self._lock, notes = claim_output_dir(outdir, self.cfg, self.comm)
        self._summary = None
        try:
            self.loop = RunLoop(self.solver_cls, self.cfg, self.comm, outdir, quiet=quiet)
            self.loop.begin(install_signals=False)
        except BaseException:
            self._release()
            raise
        self.notes = notes
        self._history = {}
        # Recorded right after the loop's own diagnostics of the same step (and the initial ones now).
        from .core.loopparts import Diagnostics
        from .core.plugins import every

        where = next(i for i, p in enumerate(self.loop.parts) if isinstance(p, Diagnostics)) + 1
        self.loop.parts.insert(where, every(self.cfg["run"]["diag_every"], lambda loop: _record_history(self)))
        if self.loop.diags:
            _record_history(self)

    # Where the run stands -----------------------------------------------------------------------------
    @property
    def solver(self):
        """The solver object (its own attributes are the solver's business; prefer :meth:`state`)."""
        return self.loop.solver

    @property
    def step(self) -> int:
        return int(self.loop.solver.step)

    @property
    def time(self) -> float:
        return float(self.loop.solver.time)

    @property
    def output_dir(self) -> str:
        return self.loop.outdir

    @property
    def diagnostics_now(self) -> dict:
        """The solver's diagnostics at this step (collective: computed now)."""
        return dict(self.loop.solver.diagnostics())

    @property
    def diagnostics(self) -> dict:
        """Diagnostics recorded every ``run.diag_every`` steps since this object was built, as columns:
        ``{"step": array, "time": array, name: array, ...}``."""
        return {k: np.asarray(v) for k, v in self._history.items()}

    # Stepping ----------------------------------------------------------------------------------------
    def run(self, steps=None, *, until=None):
        """Collective: ``steps`` more steps, or until simulated time ``until``; with neither, to the deck's
        end (``run.steps`` / ``run.t_end``). Returns ``self``; call again to continue."""
        self._open()
        if steps is None and until is None:
            self.loop.advance()
        else:
            target = None if steps is None else self.step + int(steps)
            self.loop.advance(until_step=target, until_time=until, honour_end=False)
        return self

    def every(self, n, fn):
        """Collective: call ``fn(sim)`` after every ``n``-th step (analysis, control: ``sim.stop()`` ends
        the run early; change a solver parameter). Returns the plug-in (HOOMD's writers, PyFR's plug-ins)."""
        from .core.plugins import every

        self._open()
        plugin = every(n, lambda loop: fn(self))
        self.loop.add_plugin(plugin)
        return plugin

    def stop(self):
        """End the run after this step (from a callback); :meth:`run` returns."""
        self.loop.stop("done")

    # State -------------------------------------------------------------------------------------------
    def state(self, gather=True):
        """What the solver evolves, as host NumPy arrays.

        ``gather=True`` (default): the global state on every rank, exactly what a checkpoint holds
        (``state/...`` datasets: fields for mesh solvers, positions ``x``, velocities ``v`` and ``id`` for
        particle solvers, walkers for folding), written to ``OUTPUT/.state.h5`` and read back.
        ``gather=False``: this rank's part, from the solver's ``local_state()`` (``{name: array}``).
        """
        self._open()
        if not gather:
            local = self.loop.solver.local_state()
            if not local:
                raise ZzhpcError(f"solver '{self.solver_cls.name}' gives no local_state(); use state(gather=True)")
            return {
                k: np.asarray(v if isinstance(v, np.ndarray) else self.loop.backend.to_host(v))
                for k, v in local.items()
            }
        from .io.hdf5 import guarded_write

        path = os.path.join(self.loop.outdir, ".state.h5")
        with guarded_write(path, self.comm, "state snapshot") as f:
            self.loop.solver.save_state(f)
        self.comm.Barrier()
        out = {}
        if self.comm.Get_rank() == 0:
            import h5py

            def take(name, obj):
                if isinstance(obj, h5py.Dataset) and name.startswith("state/"):
                    out[name[len("state/") :]] = obj[()]

            with h5py.File(path, "r") as f:
                f.visititems(take)
            os.remove(path)
        out = self.comm.bcast(out, root=0)
        if "id" in out and "x" in out and len(out["id"]) == len(out["x"]):
            order = np.argsort(out["id"], kind="stable")
            out = {k: (v[order] if len(v) == len(order) and np.ndim(v) else v) for k, v in out.items()}
        return out

    # Checkpoints and the end ---------------------------------------------------------------------------
    def checkpoint(self):
        """Collective: write a checkpoint now (``OUTPUT/checkpoints``); returns its path."""
        self._open()
        self.loop.checkpointer(self.loop)
        return self.loop.checkpointer.last

    @classmethod
    def restart(cls, path, **kw):
        """A simulation continuing from checkpoint ``path`` (its recorded deck, into its own run folder)."""
        path = os.path.abspath(path)
        run_dir = os.path.dirname(os.path.dirname(path))
        kw.setdefault("output", run_dir)
        return cls(path, restart=path, **kw)

    def summary(self):
        """Collective: end the run (last diagnostics, fields, checkpoint, plots, ``summary.json``) and
        return the summary; later calls return the same dict."""
        if self._summary is None:
            try:
                self._summary = self.loop.finish()
            finally:
                self._release()
        return self._summary

    close = summary

    def _open(self):
        if self._summary is not None:
            raise RuntimeError(
                "this Simulation has ended (summary() or close() was called); build a new one, "
                "or Simulation.restart(checkpoint)"
            )

    def _release(self):
        if getattr(self, "_lock", None) is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._summary is None and exc[0] is None:
            self.summary()
        else:
            self._release()

    def __repr__(self):
        return (
            f"<zzhpc.Simulation {self.solver_cls.name} step {self.step} t={self.time:.6g} "
            f"ranks {self.comm.Get_size()} output {self.loop.outdir}>"
        )


def _record_history(sim):
    row = dict(
        {"step": sim.step, "time": sim.time}, **{k: v for k, v in sim.loop.diags.items() if isinstance(v, (int, float))}
    )
    for k, v in row.items():
        sim._history.setdefault(k, []).append(v)
