"""Peer script (runs in the OpenMM environment, not zzhpc's): the same C-alpha Hamiltonian in OpenMM.

Reads JSON on stdin, writes one JSON line on stdout. Reduced units map onto OpenMM's directly
(eps = 1 kJ/mol, length nm, mass 1 amu, so k_B T = 1 eps is T = 1/0.0083144626 K).

Tasks
-----
``forces``: energies and forces of given conformations (Reference platform, double precision).
``bench_sbm``: Langevin steps per second of the C-alpha model, one Context, CPU platform, given threads.
``bench_allatom``: the same protein all-atom, amber14 + implicit solvent (OBC2 or GBn2), 2 fs, HBonds.
"""

import json
import sys
import time

import numpy as np
import openmm as mm
from openmm import app, unit

KB = 0.0083144626  # kJ/mol/K


def build_system(m):
    n = len(m["mass"])
    system = mm.System()
    for w in m["mass"]:
        system.addParticle(w)
    bonds = mm.HarmonicBondForce()
    for i, r0 in enumerate(m["r0"]):
        bonds.addBond(i, i + 1, r0, m["k_bond"])
    angles = mm.HarmonicAngleForce()
    for i, t0 in enumerate(m["theta0"]):
        angles.addAngle(i, i + 1, i + 2, t0, m["k_angle"])
    tors = mm.CustomTorsionForce("k1*(1-cos(theta-phi0)) + k3*(1-cos(3*(theta-phi0)))")
    for name in ("k1", "k3"):
        tors.addGlobalParameter(name, m[name])
    tors.addPerTorsionParameter("phi0")
    for i, p0 in enumerate(m["phi0"]):
        tors.addTorsion(i, i + 1, i + 2, i + 3, [p0])
    native = mm.CustomBondForce("eps*(5*(s/r)^12 - 6*(s/r)^10)")
    native.addPerBondParameter("s")
    native.addPerBondParameter("eps")
    eps = m.get("contact_epsilon") or [m["epsilon"]] * len(m["sigma"])
    for (i, j), s, e in zip(m["contacts"], m["sigma"], eps):
        native.addBond(int(i), int(j), [s, e])
    rep = mm.CustomBondForce("eps_r*(sr/r)^12")
    rep.addGlobalParameter("eps_r", m["epsilon"])
    rep.addGlobalParameter("sr", m["sigma_rep"])
    for i, j in m["repulsive"]:
        rep.addBond(int(i), int(j), [])
    for g, f in enumerate((bonds, angles, tors, native, rep)):
        f.setForceGroup(g)
        system.addForce(f)
    return system, n


def forces(req):
    system, n = build_system(req["model"])
    integ = mm.VerletIntegrator(0.001)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("Reference"))
    out = {"energy": [], "forces": [], "terms": []}
    for x in req["positions"]:
        ctx.setPositions(np.asarray(x))
        st = ctx.getState(getEnergy=True, getForces=True)
        out["energy"].append(st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))
        out["forces"].append(
            st.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer).tolist()
        )
        out["terms"].append(
            [
                ctx.getState(getEnergy=True, groups={g}).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
                for g in range(5)
            ]
        )
    out["openmm"] = mm.__version__
    return out


def _time_steps(ctx, integ, steps, warm):
    integ.step(warm)
    ctx.getState(getEnergy=True)
    w0, c0 = time.perf_counter(), time.process_time()
    integ.step(steps)
    ctx.getState(getEnergy=True)
    return time.perf_counter() - w0, time.process_time() - c0


def bench_sbm(req):
    system, n = build_system(req["model"])
    integ = mm.LangevinMiddleIntegrator(req["temperature"] / KB, req["friction"], req["dt"])
    integ.setRandomNumberSeed(1)
    plat = mm.Platform.getPlatformByName("CPU")
    ctx = mm.Context(system, integ, plat, {"Threads": str(req.get("threads", 1))})
    ctx.setPositions(np.asarray(req["positions"]))
    ctx.setVelocitiesToTemperature(req["temperature"] / KB, 1)
    wall, cpu = _time_steps(ctx, integ, req["steps"], max(100, req["steps"] // 10))
    return {
        "steps": req["steps"],
        "wall_s": wall,
        "cpu_s": cpu,
        "openmm": mm.__version__,
        "platform": "CPU",
        "threads": req.get("threads", 1),
    }


def _standard_names(path):
    """A copy of ``path`` with four-letter residue names (SMOG's terminal ``GLYT``) cut to three."""
    import tempfile

    lines = []
    for line in open(path):
        if line.startswith(("ATOM", "HETATM")) and line[20] != " " and line[17:21].strip().isalpha():
            line = line[:17] + line[17:20] + " " + line[21:]
        lines.append(line)
    fd, tmp = tempfile.mkstemp(suffix=".pdb")
    with open(fd, "w") as fh:
        fh.writelines(lines)
    return tmp


def bench_allatom(req):
    pdb = app.PDBFile(_standard_names(req["pdb"]))
    ff = app.ForceField("amber14-all.xml", req.get("implicit", "implicit/obc2.xml"))
    mod = app.Modeller(pdb.topology, pdb.positions)
    mod.addHydrogens(ff)
    system = ff.createSystem(mod.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    integ = mm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 0.002 * unit.picoseconds)
    integ.setRandomNumberSeed(1)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("CPU"), {"Threads": str(req.get("threads", 1))})
    ctx.setPositions(mod.positions)
    mm.LocalEnergyMinimizer.minimize(ctx, 10.0, 200)
    ctx.setVelocitiesToTemperature(300 * unit.kelvin, 1)
    wall, cpu = _time_steps(ctx, integ, req["steps"], 20)
    return {
        "steps": req["steps"],
        "wall_s": wall,
        "cpu_s": cpu,
        "atoms": system.getNumParticles(),
        "openmm": mm.__version__,
        "force_field": "amber14-all + " + req.get("implicit", "implicit/obc2.xml"),
        "dt_fs": 2.0,
        "threads": req.get("threads", 1),
    }


def write_dcd(req):
    """Write frames with OpenMM's own DCDFile (to check our writer byte for byte)."""
    top = app.Topology()
    ch = top.addChain()
    for _k in range(len(req["frames"][0])):
        r = top.addResidue("ALA", ch)
        top.addAtom("CA", app.element.carbon, r)
    with open(req["path"], "wb") as fh:
        d = app.DCDFile(fh, top, req["dt"] * unit.picosecond, req["first_step"], req["interval"])
        for x in req["frames"]:
            d.writeModel(np.asarray(x) * unit.nanometer)
    return {"ok": True}


def read_pdb_models(req):
    """Positions (nm) of every model of a multi-model PDB, read by OpenMM's PDBFile."""
    pdb = app.PDBFile(req["path"])
    return {
        "models": [
            pdb.getPositions(asNumpy=True, frame=k).value_in_unit(unit.nanometer).tolist()
            for k in range(pdb.getNumFrames())
        ],
        "atoms": pdb.topology.getNumAtoms(),
    }


TASKS = {
    "forces": forces,
    "bench_sbm": bench_sbm,
    "bench_allatom": bench_allatom,
    "write_dcd": write_dcd,
    "read_pdb_models": read_pdb_models,
}

if __name__ == "__main__":
    req = json.loads(sys.stdin.read())
    print(json.dumps(TASKS[req["task"]](req)))
