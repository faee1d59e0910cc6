"""I/O: parallel HDF5, XDMF for ParaView, atomic checkpoints, provenance and summaries."""

from .hdf5 import open_parallel, write_block, read_block, write_concatenated, read_concatenated
from .xdmf import write_xdmf
from .checkpoint import CheckpointManager
from .provenance import provenance
from .summary import write_json_atomic, CsvSeries
from . import outdir, runlock

__all__ = [
    "open_parallel",
    "write_block",
    "read_block",
    "write_concatenated",
    "read_concatenated",
    "write_xdmf",
    "CheckpointManager",
    "provenance",
    "write_json_atomic",
    "CsvSeries",
    "outdir",
    "runlock",
]
