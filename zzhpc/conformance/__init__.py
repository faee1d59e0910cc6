"""Backend conformance kit: ``zzhpc check-backend NAME`` (docs/porting.md).

Runs a backend through what zzhpc needs of a device, each result compared with NumPy: array creation and
host transfers, elementwise math and reductions in float32 and float64, FFTs, scatter-add, random
numbers, DLPack exchange, synchronisation, the halo exchange, all-to-all and the distributed FFT through
MPI (host-staged, and with device buffers where allowed), and every registered solver kernel with a
``sample``. The core never imports this package; it imports the core.
"""

from .result import FAIL, PASS, SKIP, Check, rel_error
from .runner import check_backend, format_table

__all__ = ["check_backend", "format_table", "Check", "rel_error", "PASS", "FAIL", "SKIP"]
