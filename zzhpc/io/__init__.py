"""I/O: parallel HDF5, XDMF for ParaView, atomic checkpoints, provenance and summaries."""
import os as _os

_os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")  # before h5py is first imported

from .hdf5 import open_parallel, write_block, read_block, write_concatenated, read_concatenated  # noqa: E402
from .xdmf import write_xdmf  # noqa: E402
from .checkpoint import CheckpointManager  # noqa: E402
from .provenance import provenance  # noqa: E402
from .summary import write_json_atomic, CsvSeries  # noqa: E402
from . import runlock  # noqa: E402

__all__ = ["open_parallel", "write_block", "read_block", "write_concatenated", "read_concatenated",
           "write_xdmf", "CheckpointManager", "provenance", "write_json_atomic", "CsvSeries", "runlock"]
