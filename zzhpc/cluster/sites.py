"""Site profiles: what differs between clusters (modules, launcher, MPI plugin, defaults), in TOML.

A profile is ``slurm/sites/NAME.toml`` (or any file given by path) with one ``[site]`` table. It is
validated like an input deck: an unknown key or a wrong value is a ConfigError naming it.
"""

import os
from pathlib import Path

from ..config import Param, Section, load_deck, validate
from ..errors import ConfigError

DEFAULT_SITE = "generic"

SITE_SCHEMA = Section(
    site=Section(
        description=Param(str, "", help="one line: which cluster this profile is for"),
        launcher=Param(
            str,
            "srun",
            choices=("srun", "mpiexec"),
            help="start the ranks with srun (inside the job step) or the MPI's own mpiexec",
        ),
        mpi=Param(
            str,
            "pmix",
            help="srun --mpi plugin: 'pmix' for Debian/most Open MPI builds, 'pmi2' for "
            "MPICH/Intel MPI, 'cray_shasta' on HPE Cray",
        ),
        srun_args=Param((list, str), [], help="extra srun arguments, e.g. ['--cpu-bind=cores']"),
        mpiexec=Param(
            (list, str),
            ["mpiexec", "-n", "$SLURM_NTASKS", "--map-by", "ppr:$SLURM_NTASKS_PER_NODE:node", "--bind-to", "none"],
            help="the mpiexec command line when launcher = 'mpiexec' (Open MPI's form by default)",
        ),
        modules=Param((list, str), [], help="`module load` these, in order"),
        setup=Param((list, str), [], help="shell lines run before the solver (e.g. source a venv)"),
        env=Param((list, str), [], help="NAME=VALUE pairs exported in the job"),
        sbatch=Param((list, str), [], help="extra #SBATCH options, e.g. ['--exclusive', '--constraint=a100']"),
        partition=Param(str, "", help="default partition"),
        account=Param(str, "", help="default account"),
        command=Param(str, "", help="how to run zzhpc on the nodes (default: this Python with -m zzhpc)"),
        visible_devices_var=Param(
            str,
            "CUDA_VISIBLE_DEVICES",
            help="variable that hides cards per rank with --hide-cards "
            "(ROCR_VISIBLE_DEVICES on AMD, ASCEND_RT_VISIBLE_DEVICES on Ascend)",
        ),
        container_runtime=Param((list, str), ["apptainer", "exec"], help="how to run a command in an image"),
        container_gpu_flags=Param(
            (list, str), ["--nv"], help="runtime flags when cards are requested (--nv NVIDIA, --rocm AMD)"
        ),
        signal_lead=Param(int, 300, lo=10, help="seconds before the time limit that SIGUSR1 is sent"),
        max_requeues=Param(int, 5, lo=0, help="requeues after a time-limit checkpoint before giving up"),
        help="cluster site profile",
    )
)


def sites_dir():
    """Folder of the bundled profiles (``slurm/sites`` of the source tree, or ``$ZZHPC_SLURM_DIR/sites``)."""
    return slurm_dir() / "sites"


def slurm_dir():
    """``$ZZHPC_SLURM_DIR``, else ``slurm/`` of the source tree, else ``<prefix>/share/zzhpc/slurm``."""
    import sys

    env = os.environ.get("ZZHPC_SLURM_DIR")
    if env:
        return Path(env)
    src = Path(__file__).resolve().parents[2] / "slurm"
    return src if src.is_dir() else Path(sys.prefix) / "share" / "zzhpc" / "slurm"


def site_names():
    d = sites_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def load_site(name_or_path=None):
    """The validated ``site`` table of a profile given by name (``slurm/sites/NAME.toml``) or path."""
    ref = name_or_path or DEFAULT_SITE
    path = Path(ref)
    if not (path.suffix == ".toml" or os.sep in str(ref)):
        path = sites_dir() / f"{ref}.toml"
    if not path.is_file():
        raise ConfigError(
            "--site",
            f"no such profile (bundled: {', '.join(site_names()) or 'none'}; or give a path to a .toml file)",
            str(ref),
        )
    try:
        site = validate(load_deck(str(path)), SITE_SCHEMA)["site"]
    except ConfigError as exc:
        shown = "" if exc.value is None else f" = {exc.value!r}"
        message = str(exc)[len(f"config: {exc.key}{shown}: ") :]
        raise ConfigError(exc.key, f"{message} (site profile {path})", exc.value) from None
    for item in site["env"]:
        if "=" not in item or not item.split("=", 1)[0].isidentifier():
            raise ConfigError("site.env", f"entries are NAME=VALUE (site profile {path})", item)
    site["name"] = path.stem
    site["path"] = str(path)
    return site
