"""Peer script: rigid water in OpenMM (PyPI ``openmm``), run in the peer environment (.peers/).

Reads one JSON object on stdin, prints one JSON object on stdout (``zzhpc.core.peers.run_peer``).
Never imports zzhpc. Units in and out are zzhpc's "real" units: A, kcal/mol, kcal/mol/A, fs, K.

Common payload keys
-------------------
``mode``        ``"energy"`` or ``"bench"``
``positions``   ``[[x, y, z], ...]`` [A], 3 rows per molecule in the order O, H, H
``box``         ``[Lx, Ly, Lz]`` [A] (orthorhombic, origin at 0)
``model``       ``{"q_O", "q_H", "sigma_O", "epsilon_O", "sigma_H", "epsilon_H", "m_O", "m_H", "r_OH",
                "theta_HOH"}`` (e, A, kcal/mol, g/mol, degrees)
``cutoff``      [A], for LJ and real-space Coulomb alike (no switch, no shift)
``dispersion_correction``  bool (default true): NonbondedForce.setUseDispersionCorrection

Mode ``energy`` (Reference platform, double precision): a NonbondedForce with PME and the
parameters given explicitly (``alpha`` [1/A], ``grid`` ``[nx, ny, nz]``) through ``setPMEParameters``;
the three intramolecular pairs are exceptions with zero charge product and epsilon. Optional
``platform`` (default ``"Reference"``). Returns ``energy`` (total potential), ``energy_direct``
(LJ + real space + exclusions + self + dispersion correction), ``energy_recip`` (kcal/mol),
``forces`` ``[[fx, fy, fz], ...]`` (kcal/mol/A), ``alpha``, ``grid`` (as OpenMM used them),
``openmm`` (version).

Mode ``bench`` (CPU platform): the same system made rigid by three distance constraints per molecule
(OpenMM then applies SETTLE), PME from ``tolerance`` (``setEwaldErrorTolerance``, OpenMM picks alpha
and the grid) unless ``alpha``/``grid`` are given, LangevinMiddleIntegrator at ``temperature`` [K]
(default 300) with ``friction`` [1/ps] (default 1) and ``dt`` [fs] (default 2), ``threads`` (CPU
threads, default 1), ``minimize`` (untimed energy-minimisation iterations first, default 200),
``warmup`` (untimed steps, default 100) then ``steps`` timed steps (default 1000), ``seed``,
``cores`` (optional: pin the process to that many cores first).
Returns ``ns_per_day``, ``seconds_per_step``, ``wall_s``, ``cpu_s_per_step`` (processor time of all
threads), ``cores`` (in the affinity mask), ``steps``, ``threads``, ``alpha``, ``grid``, ``platform``,
``openmm``, ``natoms``, ``energy`` (potential at the end, kcal/mol).
"""

import json
import math
import os
import sys
import time

KJ = 4.184  # kJ per kcal
NM = 10.0  # A per nm


def build_system(p, rigid):
    import openmm as mm

    m = p["model"]
    xyz = p["positions"]
    nmol = len(xyz) // 3
    box = [v / NM for v in p["box"]]
    system = mm.System()
    system.setDefaultPeriodicBoxVectors(mm.Vec3(box[0], 0, 0), mm.Vec3(0, box[1], 0), mm.Vec3(0, 0, box[2]))
    nb = mm.NonbondedForce()
    nb.setNonbondedMethod(mm.NonbondedForce.PME)
    nb.setCutoffDistance(p["cutoff"] / NM)
    nb.setUseSwitchingFunction(False)
    nb.setUseDispersionCorrection(bool(p.get("dispersion_correction", True)))
    if p.get("alpha") is not None:
        g = p["grid"]
        nb.setPMEParameters(p["alpha"] * NM, int(g[0]), int(g[1]), int(g[2]))
    if p.get("tolerance") is not None:
        nb.setEwaldErrorTolerance(p["tolerance"])
    r_hh = 2 * m["r_OH"] * math.sin(math.radians(m["theta_HOH"]) / 2)
    for k in range(nmol):
        for name in ("O", "H", "H"):
            system.addParticle(m["m_" + name])
            nb.addParticle(m["q_" + name], m["sigma_" + name] / NM, m["epsilon_" + name] * KJ)
        o, h1, h2 = 3 * k, 3 * k + 1, 3 * k + 2
        for i, j in ((o, h1), (o, h2), (h1, h2)):
            nb.addException(i, j, 0.0, 1.0, 0.0)
        if rigid:
            system.addConstraint(o, h1, m["r_OH"] / NM)
            system.addConstraint(o, h2, m["r_OH"] / NM)
            system.addConstraint(h1, h2, r_hh / NM)
    nb.setForceGroup(0)
    nb.setReciprocalSpaceForceGroup(1)
    system.addForce(nb)
    pos = [mm.Vec3(a / NM, b / NM, c / NM) for a, b, c in xyz]
    return system, nb, pos


def energy(p):
    import openmm as mm

    system, nb, pos = build_system(p, rigid=False)
    integ = mm.VerletIntegrator(0.001)
    plat = mm.Platform.getPlatformByName(p.get("platform", "Reference"))
    ctx = mm.Context(system, integ, plat)
    ctx.setPositions(pos)
    st = ctx.getState(getEnergy=True, getForces=True)
    e = st.getPotentialEnergy().value_in_unit(mm.unit.kilojoule_per_mole) / KJ
    f = st.getForces(asNumpy=False)
    forces = [
        [v.x / (KJ * NM), v.y / (KJ * NM), v.z / (KJ * NM)]
        for v in f.value_in_unit(mm.unit.kilojoule_per_mole / mm.unit.nanometer)
    ]
    parts = {}
    for name, grp in (("energy_direct", {0}), ("energy_recip", {1})):
        s = ctx.getState(getEnergy=True, groups=grp)
        parts[name] = s.getPotentialEnergy().value_in_unit(mm.unit.kilojoule_per_mole) / KJ
    alpha, nx, ny, nz = nb.getPMEParametersInContext(ctx)
    return dict(parts, energy=e, forces=forces, alpha=alpha / NM, grid=[nx, ny, nz], openmm=mm.__version__)


def bench(p):
    """Timed steps; ``cores`` (optional) pins the process (and the threads OpenMM starts) to that many
    cores first. Processor time of all threads over the timed steps too: OpenMM's CPU platform runs
    its reciprocal-space PME on a thread of its own besides the ``Threads`` workers."""
    if p.get("cores"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: int(p["cores"])]))
    import openmm as mm

    u = mm.unit
    system, nb, pos = build_system(p, rigid=True)
    dt = p.get("dt", 2.0)
    integ = mm.LangevinMiddleIntegrator(
        p.get("temperature", 300.0) * u.kelvin, p.get("friction", 1.0) / u.picosecond, dt * u.femtoseconds
    )
    integ.setRandomNumberSeed(int(p.get("seed", 1)))
    plat = mm.Platform.getPlatformByName(p.get("platform", "CPU"))
    props = {"Threads": str(int(p.get("threads", 1)))} if plat.getName() == "CPU" else {}
    ctx = mm.Context(system, integ, plat, props)
    ctx.setPositions(pos)
    ctx.applyConstraints(1e-6)
    if p.get("minimize", 200):
        mm.LocalEnergyMinimizer.minimize(ctx, 10.0, int(p.get("minimize", 200)))
    ctx.setVelocitiesToTemperature(p.get("temperature", 300.0) * u.kelvin, int(p.get("seed", 1)))
    integ.step(int(p.get("warmup", 100)))
    ctx.getState(getEnergy=True)
    steps = int(p.get("steps", 1000))
    t0, c0 = time.perf_counter(), time.process_time()
    integ.step(steps)
    st = ctx.getState(getEnergy=True)  # waits for the last step
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    alpha, nx, ny, nz = nb.getPMEParametersInContext(ctx)
    return {
        "ns_per_day": steps * dt * 1e-6 / wall * 86400.0,
        "seconds_per_step": wall / steps,
        "wall_s": wall,
        "cpu_s_per_step": cpu / steps,
        "cores": len(os.sched_getaffinity(0)),
        "steps": steps,
        "threads": int(plat.getPropertyValue(ctx, "Threads")) if plat.getName() == "CPU" else None,
        "alpha": alpha / NM,
        "grid": [nx, ny, nz],
        "platform": plat.getName(),
        "openmm": mm.__version__,
        "natoms": system.getNumParticles(),
        "energy": st.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole) / KJ,
    }


def main():
    p = json.loads(sys.stdin.read())
    modes = {"energy": energy, "bench": bench}
    if p.get("mode") not in modes:
        raise SystemExit(f"peer_openmm: mode must be one of {sorted(modes)}, got {p.get('mode')!r}")
    print(json.dumps(modes[p["mode"]](p)))


if __name__ == "__main__":
    main()
