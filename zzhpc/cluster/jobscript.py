"""From a deck and an allocation request to a Slurm batch script (``slurm/job.sh.in``).

Everything is checked before a script exists: the deck (every sweep variation of it) with the rank
count it will run on, the time limit and the time-limit signal, one rank per card. The script starts
the ranks with ``srun --mpi=PLUGIN`` (or ``mpiexec`` inside the allocation), traps the time-limit
signal, and requeues the job after the solver has written its checkpoint.
"""

import itertools
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..config.loader import tomllib
from ..errors import ConfigError
from .sites import slurm_dir

_TIME_FORMS = (
    r"(?P<m>\d+)",
    r"(?P<m>\d+):(?P<s>\d+)",
    r"(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)",
    r"(?P<d>\d+)-(?P<h>\d+)",
    r"(?P<d>\d+)-(?P<h>\d+):(?P<m>\d+)",
    r"(?P<d>\d+)-(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)",
)


def parse_time(text):
    """Seconds in a Slurm time limit (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``)."""
    for form in _TIME_FORMS:
        m = re.fullmatch(form, str(text).strip())
        if m:
            g = {k: int(v) for k, v in m.groupdict().items() if v is not None}
            secs = ((g.get("d", 0) * 24 + g.get("h", 0)) * 60 + g.get("m", 0)) * 60 + g.get("s", 0)
            if secs > 0:
                return secs
    raise ConfigError("--time", "expected a positive Slurm time limit: HH:MM:SS, MM, MM:SS or D-HH:MM:SS", text)


def toml_literal(value):
    """A Python value from TOML written back as a TOML literal (for ``--set key=VALUE``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ",".join(toml_literal(v) for v in value) + "]"
    raise ConfigError("--sweep", "values must be numbers, booleans, strings or arrays", value)


def expand_sweeps(sweeps):
    """``["a=[1,2]", "b=[true,false]"]`` -> the Cartesian product as lists of ``--set`` items."""
    axes = []
    for item in sweeps:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--sweep", "expected key.path=[value, value, ...] (a TOML array)", item)
        try:
            values = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            values = None
        if not isinstance(values, list) or not values:
            raise ConfigError("--sweep", "expected key.path=[value, value, ...] (a non-empty TOML array)", item)
        axes.append([f"{key.strip()}={toml_literal(v)}" for v in values])
    return [list(combo) for combo in itertools.product(*axes)] if axes else []


@dataclass
class JobRequest:
    """What ``zzhpc sbatch`` was asked for (the command-line options, before the site defaults)."""

    deck: str
    nodes: int
    ntasks_per_node: int
    gpus_per_node: int
    time: str
    partition: str = ""
    account: str = ""
    container: str = ""
    output: str = ""
    backend: str = ""
    job_name: str = ""
    sets: list = field(default_factory=list)
    sweeps: list = field(default_factory=list)
    array_parallel: int = 0
    dependency: str = ""
    hide_cards: bool = False
    launcher: str = ""
    signal_lead: int = None
    max_requeues: int = None
    sbatch_options: list = field(default_factory=list)
    command_line: str = ""


@dataclass
class JobPlan:
    """A checked request: the directives and the runs (one, or one per array task) of the script."""

    request: JobRequest
    site: dict
    solver: str
    output: str
    runs: list  # [(output folder, [--set items])]
    common_sets: list
    directives: list
    signal_lead: int
    max_requeues: int

    @property
    def is_array(self):
        return bool(self.request.sweeps)


def _positive(key, value, allow_zero=False):
    if not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ConfigError(key, f"expected an integer >= {0 if allow_zero else 1}", value)


def plan(req, site):
    """Check a request against its deck and the site profile; return the :class:`JobPlan`.

    Raises ConfigError (exit 2) for a bad deck, a bad variation, or an inconsistent allocation.
    """
    from ..core.deck import load_config
    from ..device import backend_class

    _positive("--nodes", req.nodes)
    _positive("--ntasks-per-node", req.ntasks_per_node)
    _positive("--gpus-per-node", req.gpus_per_node, allow_zero=True)
    limit = parse_time(req.time)
    lead = req.signal_lead if req.signal_lead is not None else site["signal_lead"]
    if not 0 < lead < limit:
        raise ConfigError(
            "--signal-lead", f"the time-limit signal must come before the limit ({limit} s) and after the start", lead
        )
    launcher = req.launcher or site["launcher"]
    if launcher not in ("srun", "mpiexec"):
        raise ConfigError("--launcher", "expected 'srun' or 'mpiexec'", launcher)
    nranks = req.nodes * req.ntasks_per_node
    common = list(req.sets) + (['backend.device="0"'] if req.hide_cards else [])
    variations = expand_sweeps(req.sweeps) or [[]]
    cfgs = []
    for extra in variations:
        _, cfg = load_config(req.deck, nranks, common + extra, backend=req.backend or None, output=req.output or None)
        cfgs.append(cfg)
    cfg = cfgs[0]
    backend = backend_class(cfg["backend"]["name"])
    policy = cfg["backend"]["device"]
    if req.gpus_per_node and req.ntasks_per_node != req.gpus_per_node and policy != "round-robin":
        raise ConfigError(
            "--ntasks-per-node",
            f"one rank per card: give --ntasks-per-node "
            f"{req.gpus_per_node} for --gpus-per-node {req.gpus_per_node} (or set "
            "backend.device = 'round-robin' to share cards)",
            req.ntasks_per_node,
        )
    if backend.kind == "gpu" and not req.gpus_per_node:
        raise ConfigError("--gpus-per-node", f"backend '{backend.name}' runs on cards: ask for them", 0)
    output = str(Path(cfg["output"]["dir"]).resolve())
    if req.sweeps:
        runs = [(f"{output}/task-{i:03d}", extra) for i, extra in enumerate(variations)]
    else:
        runs = [(output, [])]
    name = req.job_name or f"zzhpc-{cfg['solver']}"
    if not re.fullmatch(r"[\w.+-]+", name):
        raise ConfigError("--job-name", "letters, digits and . _ + - only", name)
    d = [f"--job-name={name}", f"--nodes={req.nodes}", f"--ntasks-per-node={req.ntasks_per_node}"]
    if req.gpus_per_node:
        d.append(f"--gpus-per-node={req.gpus_per_node}")
    d += [
        f"--time={req.time}",
        f"--signal=B:USR1@{lead}",
        "--requeue",
        "--open-mode=append",
        f"--output={output}/slurm-{'%A_%a' if req.sweeps else '%j'}.out",
        f"--chdir={Path.cwd()}",
    ]
    for key, value in (("partition", req.partition or site["partition"]), ("account", req.account or site["account"])):
        if value:
            d.append(f"--{key}={value}")
    if req.sweeps:
        d.append(f"--array=0-{len(runs) - 1}" + (f"%{req.array_parallel}" if req.array_parallel else ""))
    if req.dependency:
        if not re.fullmatch(r"(after\w*|singleton)(:[\w+:]+)?([,?](after\w*|singleton)(:[\w+:]+)?)*", req.dependency):
            raise ConfigError("--dependency", "expected a Slurm dependency such as afterok:1234", req.dependency)
        d.append(f"--dependency={req.dependency}")
    d += list(site["sbatch"]) + list(req.sbatch_options)
    req.launcher = launcher
    max_requeues = req.max_requeues if req.max_requeues is not None else site["max_requeues"]
    _positive("--max-requeues", max_requeues, allow_zero=True)
    return JobPlan(req, site, cfg["solver"], output, runs, common, d, lead, max_requeues)


def _words(items):
    return " ".join(shlex.quote(str(x)) for x in items)


def _shell_words(items):
    """Words for a bash array, leaving ``$VAR`` references to the shell (mpiexec's $SLURM_NTASKS)."""
    return " ".join(f'"{x}"' if re.fullmatch(r"[\w$:./=@%+-]+", x) else shlex.quote(x) for x in items)


def zzhpc_command(plan_):
    req, site = plan_.request, plan_.site
    if req.container:
        rt = list(site["container_runtime"])
        if req.gpus_per_node:
            rt += site["container_gpu_flags"]
        if rt and Path(rt[0]).name in ("apptainer", "singularity"):
            for path in sorted({plan_.output, str(Path(req.deck).resolve().parent)}):
                rt += ["--bind", path]
        return rt + [req.container, "zzhpc"]
    if site["command"]:
        return shlex.split(site["command"])
    return [sys.executable, "-m", "zzhpc"]


def launch_words(plan_):
    req, site = plan_.request, plan_.site
    if req.launcher == "srun":
        return _words(["srun", f"--mpi={site['mpi']}", "--kill-on-bad-exit=1", *site["srun_args"]])
    return _shell_words(site["mpiexec"])


def bind_words(plan_):
    """Hide all cards but this rank's own (only with --hide-cards: it breaks intra-node GPU IPC paths)."""
    if not plan_.request.hide_cards:
        return ""
    var = plan_.site["visible_devices_var"]
    code = f'export {var}=${{OMPI_COMM_WORLD_LOCAL_RANK:-${{SLURM_LOCALID:-0}}}}; exec "$@"'
    return _words(["bash", "-c", code, "zzhpc-bind"])


def setup_lines(site):
    lines = [f"module load {shlex.quote(m)}" for m in site["modules"]]
    for item in site["env"]:
        k, v = item.split("=", 1)
        lines.append(f"export {k}={shlex.quote(v)}")
    lines += site["setup"]
    return "\n".join(lines) if lines else ":"


def task_block(plan_):
    if not plan_.is_array:
        out, extra = plan_.runs[0]
        return f"OUTPUT={shlex.quote(out)}\nTASK_SETS=({_set_words(extra)})"
    lines = ['case "${SLURM_ARRAY_TASK_ID:-}" in']
    for i, (out, extra) in enumerate(plan_.runs):
        lines.append(f"  {i}) OUTPUT={shlex.quote(out)}; TASK_SETS=({_set_words(extra)}) ;;")
    lines.append('  *) echo "zzhpc-job: no array task \'${SLURM_ARRAY_TASK_ID:-unset}\' in this sweep" >&2; exit 2 ;;')
    lines.append("esac")
    return "\n".join(lines)


def _set_words(items):
    return _words([w for item in items for w in ("--set", item)])


def render(plan_):
    """The batch script text for a checked plan."""
    req, site = plan_.request, plan_.site
    values = {
        "directives": "\n".join(f"#SBATCH {d}" for d in plan_.directives),
        "version": __version__,
        "site": site["name"],
        "command_line": req.command_line or "zzhpc sbatch ...",
        "signal_lead": plan_.signal_lead,
        "max_requeues": plan_.max_requeues,
        "setup": setup_lines(site),
        "zzhpc": _words(zzhpc_command(plan_)),
        "launch": launch_words(plan_),
        "bind": bind_words(plan_),
        "deck": shlex.quote(str(Path(req.deck).resolve())),
        "sets": _set_words(plan_.common_sets),
        "task_block": task_block(plan_),
    }
    template = (slurm_dir() / "job.sh.in").read_text()

    def fill(m):
        if m.group(1) not in values:
            raise KeyError(f"slurm/job.sh.in: unknown placeholder {{{{{m.group(1)}}}}}")
        return str(values[m.group(1)])

    return re.sub(r"\{\{(\w+)\}\}", fill, template)
