"""Peer of the ``spectral`` solver's benchmark: the same scheme written on mpi4py-fft (FFTW).

Taylor-Green vortex, velocity form with u x omega, Leray projection, 2/3-rule dealiasing (or with
``"dealias": "3/2"`` products on mpi4py-fft's own 3/2-padded transforms), the same time integrator as
zzhpc: Carpenter & Kennedy's five-stage fourth-order 2N-storage Runge-Kutta (NASA TM-109112, 1994) with
the viscous term by integrating factor, registers moved to the next stage time after each stage. Nine
distributed FFTs per right-hand side (the demo's rotational form), 45 per step, written in the style of
mpi4py-fft's own spectral DNS demo (preallocated arrays, in-place NumPy). ``"dtype": "float32"`` runs
it in single precision (energy summed in float64).

Run in the .fftpeer environment (scripts/setup_fftpeer.sh), under mpiexec::

    mpiexec -n 2 .fftpeer/bin/python benchmarks/spectral_peer.py '{"n": 64, "steps": 5}'

Prints one JSON line (rank 0): best and median seconds per step, seconds per distributed FFT, energy
after the timed steps (to check it is the same computation as zzhpc's), memory high-water mark.
"""

import json
import resource
import sys
import time

import numpy as np
from mpi4py import MPI
from mpi4py_fft import PFFT, newDistArray


def _rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main(args):
    comm = MPI.COMM_WORLD
    n, steps = int(args["n"]), int(args.get("steps", 5))
    nu, dt = float(args.get("nu", 1 / 1600)), float(args.get("dt", 0.01))
    base_mb = _rss_mb()
    grid = (-1,) if args.get("decomposition", "slab") == "slab" else None
    three_halves = args.get("dealias", "2/3") == "3/2"
    real = np.dtype(args.get("dtype", "float64")).type
    fft = PFFT(comm, (n, n, n), axes=(0, 1, 2), dtype=real, grid=grid, backend="fftw")
    # Products (U, W, NL) live on the padded grid with 3/2; the state and the initial field on n^3.
    pfft = (
        PFFT(comm, (n, n, n), axes=(0, 1, 2), dtype=real, grid=grid, backend="fftw", padding=[1.5, 1.5, 1.5])
        if three_halves
        else fft
    )
    U = newDistArray(pfft, False, rank=1)
    U0 = newDistArray(fft, False, rank=1)
    U_hat = newDistArray(fft, True, rank=1)
    NL_hat, dU = np.empty_like(U_hat), np.zeros_like(U_hat)  # dU *= A[0] = 0 must not meet NaN
    W, W_hat = np.empty_like(U), np.empty_like(U_hat)
    NL = np.empty_like(U)
    sl = fft.local_slice(False)  # the initial field is set on the n^3 grid
    X = np.meshgrid(*[np.arange(n)[s] * 2 * np.pi / n for s in sl], indexing="ij", sparse=True)
    ks = fft.local_slice(True)
    k = [np.fft.fftfreq(n, 1 / n)[ks[0]], np.fft.fftfreq(n, 1 / n)[ks[1]], np.fft.rfftfreq(n, 1 / n)[ks[2]]]
    K = np.array(np.meshgrid(*k, indexing="ij", sparse=False)).astype(real)
    K2 = np.sum(K * K, 0)
    K_over_K2 = K / np.where(K2 == 0, 1, K2)
    cut = n / 2 if three_halves else n / 3  # 3/2: keep all but the Nyquist modes
    dealias = ((np.abs(K[0]) < cut) & (np.abs(K[1]) < cut) & (np.abs(K[2]) < cut)).astype(real)
    # Carpenter & Kennedy (1994) RK4(3)5[2N], solution 3; stage times C, C[5] = 1.
    A = (
        0.0,
        -567301805773 / 1357537059087,
        -2404267990393 / 2016746695238,
        -3550918686646 / 2091501179385,
        -1275806237668 / 842570457699,
    )
    B = (
        1432997174477 / 9575080441755,
        5161836677717 / 13612068292357,
        1720146321549 / 2090206949498,
        3134564353537 / 4481467310338,
        2277821191437 / 14882151754819,
    )
    C = (
        0.0,
        1432997174477 / 9575080441755,
        2526269341429 / 6820363962896,
        2006345519317 / 3224310063776,
        2802321613138 / 2924317926251,
        1.0,
    )
    E = [np.exp(-nu * dt * (C[i + 1] - C[i]) * K2).astype(real) for i in range(5)]

    def curl(a_hat, out):
        out[0] = pfft.backward(1j * (K[1] * a_hat[2] - K[2] * a_hat[1]), out[0])
        out[1] = pfft.backward(1j * (K[2] * a_hat[0] - K[0] * a_hat[2]), out[1])
        out[2] = pfft.backward(1j * (K[0] * a_hat[1] - K[1] * a_hat[0]), out[2])
        return out

    def rhs(a_hat, out):
        for i in range(3):
            U[i] = pfft.backward(a_hat[i], U[i])
        curl(a_hat, W)
        NL[0] = U[1] * W[2] - U[2] * W[1]
        NL[1] = U[2] * W[0] - U[0] * W[2]
        NL[2] = U[0] * W[1] - U[1] * W[0]
        for i in range(3):
            out[i] = pfft.forward(NL[i], out[i])
        out *= dealias
        out -= np.sum(K * out, 0) * K_over_K2
        return out

    def step(u_hat):
        nonlocal dU, NL_hat
        for i in range(5):
            dU *= A[i]
            rhs(u_hat, NL_hat)
            NL_hat *= dt
            dU += NL_hat
            NL_hat[:] = dU
            NL_hat *= B[i]
            u_hat += NL_hat
            u_hat *= E[i]
            dU *= E[i]

    U0[0] = np.sin(X[0]) * np.cos(X[1]) * np.cos(X[2])
    U0[1] = -np.cos(X[0]) * np.sin(X[1]) * np.cos(X[2])
    U0[2] = 0
    for i in range(3):
        U_hat[i] = fft.forward(U0[i], U_hat[i])
    U_hat *= dealias

    step(U_hat)  # warm-up (FFTW plans are made in PFFT already)
    times = []
    for _ in range(steps):
        comm.Barrier()
        t0 = time.perf_counter()
        step(U_hat)
        comm.Barrier()
        times.append(comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))
    # One distributed FFT: mean of a forward and a backward of one scalar field.
    ftimes = []
    for _ in range(max(10, steps)):
        comm.Barrier()
        t0 = time.perf_counter()
        W_hat[0] = pfft.forward(NL[0], W_hat[0])
        NL[0] = pfft.backward(W_hat[0], NL[0])
        comm.Barrier()
        ftimes.append(comm.allreduce(time.perf_counter() - t0, op=MPI.MAX) / 2)
    for i in range(3):
        U0[i] = fft.backward(U_hat[i], U0[i])
    energy = comm.allreduce(0.5 * float(np.sum(U0 * U0, dtype=np.float64)), op=MPI.SUM) / n**3
    hwm_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    mem = comm.allreduce(hwm_mb - base_mb, op=MPI.SUM)
    if comm.Get_rank() == 0:
        import mpi4py_fft

        print(
            json.dumps(
                {
                    "peer": f"mpi4py-fft {mpi4py_fft.__version__} (FFTW)",
                    "n": n,
                    "dtype": np.dtype(real).name,
                    "ffts_per_step": 45,
                    "dealias": "3/2" if three_halves else "2/3",
                    "ranks": comm.Get_size(),
                    "steps_timed": steps,
                    "best_s_per_step": min(times),
                    "median_s_per_step": float(np.median(times)),
                    "s_per_fft": float(np.median(ftimes)),
                    "energy": energy,
                    "time": (steps + 1) * dt,
                    "bytes_per_point": mem * 2**20 / n**3,
                }
            )
        )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else json.load(sys.stdin))
