"""Peer script (runs in the peer environment with OpenSMOG and OpenMM, never in zzhpc's): potential energies
of conformations of a SMOG 2 / OpenSMOG model, evaluated by OpenSMOG itself.

Reads JSON on stdin, writes one JSON line on stdout. Tasks:

``energies``: ``{top, gro, xml, positions: [[[x, y, z], ...], ...], cutoff}`` -> energies (kJ/mol = eps),
OpenSMOG loads the three files as it would for a run (Reference platform, double precision, non-periodic,
the given non-bonded cut-off in nm).
``tests``: the folder of OpenSMOG's own test systems (files written by SMOG 2 with reference energies).
"""

import contextlib
import io
import json
import os
import sys
import tempfile


def energies(req):
    import openmm as mm
    from openmm import unit
    from OpenSMOG import SBM

    out = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        sbm = SBM(
            name="zzhpc",
            time_step=0.002,
            collision_rate=1.0,
            r_cutoff=req["cutoff"],
            temperature=0.5,
            pbc=False,
            warn=False,
        )
        sbm.setup_openmm(platform="Reference", precision="double")
        sbm.saveFolder(tmp)
        sbm.loadSystem(Grofile=req["gro"], Topfile=req["top"], Xmlfile=req["xml"])
        sbm.createSimulation()
        ctx = sbm.simulation.context
        for x in req["positions"]:
            ctx.setPositions([mm.Vec3(*p) for p in x] * unit.nanometer)
            out.append(ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))
    import OpenSMOG

    return {
        "energy": out,
        "opensmog": getattr(SBM, "version", "?"),
        "openmm": mm.__version__,
        "path": os.path.dirname(OpenSMOG.__file__),
    }


def tests(req):
    import OpenSMOG

    return {"path": os.path.join(os.path.dirname(OpenSMOG.__file__), "share", "tests")}


if __name__ == "__main__":
    req = json.loads(sys.stdin.read())
    print(json.dumps({"energies": energies, "tests": tests}[req["task"]](req)))
