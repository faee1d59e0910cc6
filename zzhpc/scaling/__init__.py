"""Scaling studies and the performance model (``zzhpc scale``, ``zzhpc project``).

- :mod:`.workloads`  a solver's unit of work and the weak-scaling rule
- :mod:`.deckio`     sweep decks ([scaling] table), per-run decks as TOML
- :mod:`.sweep`      plan, run under mpiexec with progress, resume from per-run state
- :mod:`.collect`    summary.json -> rows; min/median/max, speedup, efficiency
- :mod:`.report`     CSV, Markdown and PNG plots
- :mod:`.slurm`      a sweep as Slurm jobs (zzhpc sbatch, or a job array)
- :mod:`.microbench` MPI latency, bandwidth, all-to-all, allreduce
- :mod:`.comm`       per-solver work and communication per step
- :mod:`.model`      calibration and prediction; :mod:`.calibration` checks against a sweep
- :mod:`.targets`, :mod:`.projection_tables`  projections to many cards

The core never imports this package.
"""
