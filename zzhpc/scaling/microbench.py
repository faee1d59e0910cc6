"""MPI microbenchmarks: point-to-point latency and bandwidth, all-to-all throughput, allreduce latency.

Run under MPI (``mpiexec -n 2 python -m zzhpc.scaling.microbench --json net.json``), or from Python
with :func:`measure`, which starts that command. Method (Hockney model, [Hockney1994]_): a ping-pong
between ranks 0 and 1 gives the one-way time ``t(n) = alpha + n / beta`` for ``n``-byte messages;
``alpha`` is the median one-way time of 8-byte messages, ``beta`` the least-squares fit over messages
of 64 KiB and more. ``MPI_Alltoall`` with ``b`` bytes per pair of ranks gives the throughput per rank,
``(P - 1) b / t``, at the largest ``b``. Every timing is the median over repetitions, after a warm-up.

.. [Hockney1994] R. W. Hockney, "The communication challenge for MPP: Intel Paragon and Meiko CS-2",
   Parallel Computing 20(3), 389-398 (1994).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SIZES = [8, 64, 512, 4096, 32768, 65536, 262144, 1048576, 4194304]
QUICK_SIZES = [8, 512, 32768, 65536, 262144, 1048576]


def _reps(n, quick):
    base = 30 if quick else 200
    return max(5, min(base, int(base * 65536 / max(n, 65536))))


def pingpong(comm, sizes, quick=False):
    """``[(bytes, one-way seconds)]`` between ranks 0 and 1 (other ranks wait)."""
    import numpy as np

    rank, out = comm.Get_rank(), []
    for n in sizes:
        buf = np.zeros(max(n, 1), dtype=np.uint8)
        times = []
        for i in range(_reps(n, quick) + 3):
            comm.Barrier()
            t0 = time.perf_counter()
            if rank == 0:
                comm.Send([buf, n, _byte()], dest=1, tag=7)
                comm.Recv([buf, n, _byte()], source=1, tag=7)
            elif rank == 1:
                comm.Recv([buf, n, _byte()], source=0, tag=7)
                comm.Send([buf, n, _byte()], dest=0, tag=7)
            if i >= 3:
                times.append((time.perf_counter() - t0) / 2)
        out.append((n, statistics.median(times) if rank == 0 else None))
    return out


def _byte():
    from mpi4py import MPI

    return MPI.BYTE


def alltoall(comm, sizes, quick=False):
    """``[(bytes per pair, seconds per MPI_Alltoall)]`` (max over ranks of the median)."""
    import numpy as np
    from mpi4py import MPI

    p, out = comm.Get_size(), []
    for b in sizes:
        send = np.zeros(b * p, dtype=np.uint8)
        recv = np.empty_like(send)
        times = []
        for i in range(_reps(b * p, quick) + 2):
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Alltoall(send, recv)
            if i >= 2:
                times.append(time.perf_counter() - t0)
        out.append((b, comm.allreduce(statistics.median(times), op=MPI.MAX)))
    return out


def allreduce_latency(comm, reps=200):
    import numpy as np
    from mpi4py import MPI

    x, y, times = np.ones(1), np.empty(1), []
    for i in range(reps + 5):
        comm.Barrier()
        t0 = time.perf_counter()
        comm.Allreduce(x, y, op=MPI.SUM)
        if i >= 5:
            times.append(time.perf_counter() - t0)
    return comm.allreduce(statistics.median(times), op=MPI.MAX)


def fit_hockney(points, min_bytes=65536):
    """``(alpha, beta)`` from ``[(bytes, seconds)]``: alpha from the smallest message, beta by least
    squares over messages of ``min_bytes`` and more (slope 1/beta)."""
    alpha = min(points)[1]
    big = [(n, t) for n, t in points if n >= min_bytes]
    if len(big) < 2:
        n, t = max(points)
        return alpha, n / max(t - alpha, 1e-12)
    nm = sum(n for n, _ in big) / len(big)
    tm = sum(t for _, t in big) / len(big)
    slope = sum((n - nm) * (t - tm) for n, t in big) / sum((n - nm) ** 2 for n, _ in big)
    if slope <= 0:  # noise: fall back to the largest message alone
        n, t = max(big)
        slope = max(t - alpha, 1e-12) / n
    return alpha, 1.0 / slope


def run_benchmarks(comm, quick=False):
    """All benchmarks (collective); the result dict on rank 0, None elsewhere."""
    sizes = QUICK_SIZES if quick else SIZES
    pp = pingpong(comm, sizes, quick) if comm.Get_size() >= 2 else []
    a2a = alltoall(comm, [s for s in sizes if s >= 512], quick)
    ar = allreduce_latency(comm, 50 if quick else 200)
    if comm.Get_rank() != 0:
        return None
    from ..io.provenance import cpu_model
    from mpi4py import MPI

    alpha, beta = fit_hockney(pp) if pp else (None, None)
    b, t = a2a[-1]
    p = comm.Get_size()
    return {
        "ranks": p,
        "latency_s": alpha,
        "bandwidth_Bps": beta,
        "alltoall_Bps_per_rank": (p - 1) * b / t if p > 1 else None,
        "alltoall_latency_s": a2a[0][1],
        "allreduce_latency_s": ar,
        "pingpong": [{"bytes": n, "seconds": s} for n, s in pp],
        "alltoall": [{"bytes_per_pair": n, "seconds": s} for n, s in a2a],
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "mpi_library": MPI.Get_library_version().strip().splitlines()[0].split(", package")[0],
        "load_average": list(os.getloadavg()),
        "quick": quick,
    }


def measure(ranks=2, *, mpiexec="mpiexec", quick=False, timeout=300, extra_args=()):
    """Run the benchmarks under ``mpiexec -n ranks`` in a child process; returns the result dict."""
    from ..core.harness import child_env, mpi_command
    from .sweep import mpiexec_options

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.json")
        cmd = mpi_command(
            ranks,
            [sys.executable, "-m", "zzhpc.scaling.microbench", "--json", path] + (["--quick"] if quick else []),
            launcher=mpiexec,
            launcher_args=[*mpiexec_options(mpiexec, ranks), *extra_args],
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env())
        if proc.returncode != 0 or not os.path.isfile(path):
            raise RuntimeError(f"microbenchmark failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        with open(path) as fh:
            return json.load(fh)


def main(argv=None):
    p = argparse.ArgumentParser(description="MPI latency, bandwidth and all-to-all microbenchmarks")
    p.add_argument("--json", help="write the result here (rank 0)")
    p.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    args = p.parse_args(argv)
    from mpi4py import MPI

    res = run_benchmarks(MPI.COMM_WORLD, quick=args.quick)
    if res is not None:
        text = json.dumps(res, indent=1)
        if args.json:
            with open(args.json, "w") as fh:
                fh.write(text + "\n")
        else:
            print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
