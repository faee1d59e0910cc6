"""Running zzhpc on clusters: Slurm job scripts (:mod:`.jobscript`), site profiles (:mod:`.sites`) and the
state of runs in an output tree (:mod:`.runstate`). Uses the core; the core never imports this package."""
