"""Validation of the SMOG 2 / OpenSMOG file route (``zzhpc validate folding-opensmog``): zzhpc reads SMOG 2's
own C-alpha files and writes its models in the same form; OpenSMOG (OpenMM, Reference platform, double
precision) evaluates the same files. Energies must agree to 1e-6 on every conformation."""

import os
import tempfile

import numpy as np

from ...core import Metric, validation_case
from ...core.peers import run_peer
from .proteins import load_model, perturbed
from .kernels import sbm_forces
from ...particles.formats import read_gro
from .smog import read_smog, write_smog

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_opensmog.py")
# OpenSMOG's cut-off must exceed every pair distance for zzhpc's (uncut) repulsion to be the same sum.
CUTOFF_NM = 30.0


def _energies(model, x):
    return sbm_forces(np.asarray(x), model.kernel_params(), energy=True)[1]


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(np.abs(np.asarray(b)), 1.0)))


@validation_case("folding-opensmog", "folding")
def opensmog_energies(quick=False):
    """SMOG 2 files in, zzhpc files out: energies equal OpenSMOG's on the same files."""
    out = []
    # 1. SMOG 2's own C-alpha model of CI2, from OpenSMOG's test set, with its ten reference frames.
    d = os.path.join(run_peer(PEER, {"task": "tests"})["path"], "2ci2.CA")
    files = {
        "top": os.path.join(d, "opentest.top"),
        "gro": os.path.join(d, "frame.0.gro"),
        "xml": os.path.join(d, "opentest.xml"),
    }
    m = read_smog(files["top"], files["gro"], files["xml"])
    frames = np.stack([read_gro(os.path.join(d, f"frame.{k}.gro")).positions for k in range(10)])
    ref = run_peer(PEER, dict(files, task="energies", positions=frames.tolist(), cutoff=CUTOFF_NM))
    ours = _energies(m, frames)
    out.append(
        Metric(
            "SMOG 2 CI2 C-alpha files read by zzhpc: max |dE| / max(|E|, 1)",
            _rel(ours, ref["energy"]),
            0.0,
            1e-6,
            "max",
            f"10 frames of OpenSMOG's test set; OpenSMOG {ref['opensmog']}, OpenMM {ref['openmm']}, Reference platform",
        )
    )
    shipped = [float(v) for v in open(os.path.join(d, "energies")).read().split()[:10]]
    # The test set's own energies were computed by GROMACS (single precision, 2 nm cut-off): reported, looser.
    out.append(
        Metric(
            "same frames against the test set's GROMACS energies: max |dE| / max(|E|, 1)",
            _rel(ours, shipped),
            0.0,
            1e-3,
            "max",
            "GROMACS mixed precision, 6 printed digits",
        )
    )
    # 2. zzhpc's own models written as SMOG 2 files, read by OpenSMOG, on perturbed conformations.
    with tempfile.TemporaryDirectory() as tmp:
        for protein in ("villin",) if quick else ("villin", "ci2"):
            m = load_model(protein)
            x = np.concatenate([perturbed(m, 2 if quick else 5, a, seed=k) for k, a in enumerate((0.01, 0.05))])
            paths = write_smog(m, os.path.join(tmp, protein), title=f"zzhpc {protein}")
            # The .gro holds 3 decimals and a shifted origin: OpenSMOG gets the exact positions by context.
            ref = run_peer(PEER, dict(paths, task="energies", positions=x.tolist(), cutoff=CUTOFF_NM))
            out.append(
                Metric(
                    f"{protein}: zzhpc model written as SMOG 2 files, OpenSMOG vs zzhpc max |dE|/|E|",
                    _rel(_energies(m, x), ref["energy"]),
                    0.0,
                    1e-6,
                    "max",
                    f"{len(x)} conformations",
                )
            )
            back = read_smog(paths["top"], paths["gro"], paths["xml"])
            terms = [
                (m.r0, back.r0),
                (m.theta0, back.theta0),
                (np.cos(m.phi0), np.cos(back.phi0)),
                (m.sigma, back.sigma),
                (m.contact_eps(), back.contact_eps()),
            ]
            err = max(float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12))) for a, b in terms)
            same = np.array_equal(m.contacts, back.contacts)
            out.append(
                Metric(
                    f"{protein}: write -> read round trip, max relative parameter change",
                    err if same else float("inf"),
                    0.0,
                    1e-9,
                    "max",
                    "contacts identical" if same else "contact lists differ",
                )
            )
    return out
