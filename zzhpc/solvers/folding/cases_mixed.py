"""Validation of the mixed-precision mode of folding (``zzhpc validate folding-mixed-precision``).

``backend.precision = "mixed"`` (docs/precision.md, :mod:`.kernels_mixed`): pair terms in float32,
bonded terms (compiled kernel), sums, energies and the integrator in float64. Checked against float64:

1. Kernels, on conformations equilibrated at each protein's Tf (:func:`.proteins.thermal`; perturbed
   native states would stretch bonds to thousands of eps, energies no run sees): the relative RMS of all
   forces :math:`\\sqrt{\\sum |F_{mix} - F_{64}|^2 / \\sum |F_{64}|^2}` and the largest energy error
   :math:`\\max |E_{mix} - E_{64}|`, in units of :math:`k_BT_f` and relative to :math:`\\max |E_{64}|`
   (the potential energy of a thermal C-alpha chain crosses zero, bonds and angles against contacts,
   so an error relative to each conformation's own energy means nothing). Both the compiled kernel
   and the generic one (GPUs, devices without float64).
2. Dynamics: replica exchange on villin run in both modes from the same start (``folding-tf-ranks``'s
   deck; the mixed mode draws its noise in float32, so the two runs are independent samples): the
   folding temperatures agree within three combined standard errors. Langevin at one temperature
   (friction 10/tau): the mean kinetic temperature over the bath's is BAOAB's at this step, 0.9835,
   within 0.02.
"""

import os
import tempfile

import numpy as np

from ... import io  # noqa: F401,I001  (sets H5PY_ALWAYS_USE_MPI before h5py is first imported)
import h5py

from ...core import Metric, validation_case
from ...core.harness import run_deck
from . import kernels_numba
from .cases_common import deck, remd_deck
from .kernels import sbm_forces
from .proteins import TF, load_model, thermal

# BAOAB's full-step kinetic temperature over the bath's at dt = 0.002 (float64, 150k-step REMD of villin,
# docs/folding.md): the O(dt^2) bias of the stiff bonds.
BAOAB_KINETIC = 0.9835


def kernel_errors(protein, count, kernel):
    """``(force relative RMS, max |dE| / kT_f, max |dE| / max |E|)`` of ``kernel(x, p, energy, mixed=True)``
    against the float64 compiled kernel (the xp reference where Numba is missing)."""
    m = load_model(protein)
    x = thermal(m, count, TF[protein], 2000)
    p = m.kernel_params()
    ref = kernels_numba.sbm_forces_numba if kernels_numba.usable(np.float64) else sbm_forces
    f64, e64 = ref(x, p, energy=True)
    f, e = kernel(x, p, energy=True, mixed=True)
    de = float(np.max(np.abs(e - e64)))
    rms = float(np.sqrt(np.sum((f - f64) ** 2) / np.sum(f64**2)))
    return rms, de / TF[protein], de / float(np.max(np.abs(e64)))


@validation_case("folding-mixed-precision", "folding")
def mixed_precision(quick=False):
    """Mixed precision against float64: forces and energies on equilibrated states, Tf and kinetic temperature."""

    out = []
    kernels = {"generic": sbm_forces}
    if kernels_numba.usable(np.float64):
        kernels["compiled"] = kernels_numba.sbm_forces_numba
    for protein in ("villin", "ci2"):
        count = 16 if quick else 64
        for tag, kern in kernels.items():
            rms, de_kt, de_rel = kernel_errors(protein, count, kern)
            out += [
                Metric(f"{protein} [{tag}]: force relative RMS", rms, 0.0, 1e-5, "max", f"{count} states at Tf"),
                Metric(f"{protein} [{tag}]: max |dE| / kT_f", de_kt, 0.0, 1e-3, "max"),
                Metric(f"{protein} [{tag}]: max |dE| / max |E|", de_rel, 0.0, 1e-5, "max"),
            ]
    with tempfile.TemporaryDirectory() as tmp:
        res = {}
        for prec in ("uniform", "mixed"):
            d = remd_deck("villin", quick)
            d["backend"] = {"precision": prec}
            res[prec] = run_deck(d, os.path.join(tmp, prec)).summary["results"]
            # The kinetic temperature at one temperature, friction 10/tau (relaxed in 50 steps).
            d = deck("villin", replicas=16, t_min=1.0, t_max=1.0, exchange_every=0, friction=10.0, sample_every=10)
            d["run"] = dict(d["run"], steps=4000 if quick else 40000, seed=5, dt=0.002)
            d["backend"] = {"precision": prec}
            run_deck(d, os.path.join(tmp, prec + "-nvt"))
            with h5py.File(os.path.join(tmp, prec + "-nvt", "timeseries.h5"), "r") as f:
                kin = f["kinetic"][...]
            res[prec]["kinetic_ratio"] = float(np.mean(kin[:, kin.shape[1] // 5 :]))
    a, b = res["uniform"], res["mixed"]
    err = float(np.hypot(a["tf_error"], b["tf_error"]))
    out.append(
        Metric(
            "villin: |Tf(mixed) - Tf(float64)|",
            abs(b["tf"] - a["tf"]),
            0.0,
            3 * err,
            "max",
            f"Tf = {a['tf']:.4f} +- {a['tf_error']:.4f} (float64), {b['tf']:.4f} +- {b['tf_error']:.4f} (mixed)",
        )
    )
    out.append(
        Metric(
            "villin: kinetic / bath temperature, mixed",
            b["kinetic_ratio"],
            BAOAB_KINETIC,
            0.02,
            "abs",
            f"float64: {a['kinetic_ratio']:.4f}; terms in {b['term_precision']}",
        )
    )
    return out
