// MD kernels for the CuPy backend (zzhpc/solvers/md/kernels_cuda.py): one thread per owned atom.
// Conventions as zzhpc/solvers/md/kernels.py: neighbour rows padded with -1; full lists only.

extern "C" __global__ void md_neighbor_full(const double* __restrict__ x, const long long* __restrict__ order,
                                            const long long* __restrict__ start, const long long* __restrict__ cell,
                                            long long nlocal, long long nbx, long long nby, long long nbz,
                                            double cut2, long long maxn, long long* __restrict__ neigh,
                                            long long* __restrict__ nn)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nlocal) return;
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    const long long c = cell[i];
    const long long cx = c % nbx, cy = (c / nbx) % nby, cz = c / (nbx * nby);
    long long n = 0;
    for (int dz = -1; dz <= 1; ++dz) {
        const long long c2 = cz + dz;
        if (c2 < 0 || c2 >= nbz) continue;
        for (int dy = -1; dy <= 1; ++dy) {
            const long long c1 = cy + dy;
            if (c1 < 0 || c1 >= nby) continue;
            for (int dx = -1; dx <= 1; ++dx) {
                const long long c0 = cx + dx;
                if (c0 < 0 || c0 >= nbx) continue;
                const long long k = (c2 * nby + c1) * nbx + c0;
                for (long long s = start[k]; s < start[k + 1]; ++s) {
                    const long long j = order[s];
                    if (j == i) continue;
                    const double ddx = x[3 * j] - xi, ddy = x[3 * j + 1] - yi, ddz = x[3 * j + 2] - zi;
                    if (ddx * ddx + ddy * ddy + ddz * ddz < cut2) {
                        if (n < maxn) neigh[i * maxn + n] = j;
                        ++n;
                    }
                }
            }
        }
    }
    nn[i] = n;
}

// tab: 6 tables (lj1, lj2, lj3, lj4, cutsq, offset) of ntypes*ntypes, one after the other.
extern "C" __global__ void md_lj_full(const double* __restrict__ x, const long long* __restrict__ types,
                                     const long long* __restrict__ neigh, long long nlocal, long long maxn,
                                     long long ntypes, const double* __restrict__ tab, double* __restrict__ f,
                                     double* __restrict__ e, double* __restrict__ w)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nlocal) return;
    const long long nt2 = ntypes * ntypes;
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    const long long ti = types[i];
    double fx = 0.0, fy = 0.0, fz = 0.0, ei = 0.0, wi = 0.0;
    for (long long k = 0; k < maxn; ++k) {
        const long long j = neigh[i * maxn + k];
        if (j < 0) break;
        const double dx = xi - x[3 * j], dy = yi - x[3 * j + 1], dz = zi - x[3 * j + 2];
        const double r2 = dx * dx + dy * dy + dz * dz;
        const long long t = ti * ntypes + types[j];
        if (r2 < tab[4 * nt2 + t]) {
            const double r2i = 1.0 / r2;
            const double r6i = r2i * r2i * r2i;
            const double fp = r6i * (tab[t] * r6i - tab[nt2 + t]) * r2i;
            fx += dx * fp;
            fy += dy * fp;
            fz += dz * fp;
            ei += r6i * (tab[2 * nt2 + t] * r6i - tab[3 * nt2 + t]) - tab[5 * nt2 + t];
            wi += r2 * fp;
        }
    }
    f[3 * i] = fx;
    f[3 * i + 1] = fy;
    f[3 * i + 2] = fz;
    e[i] = ei;
    w[i] = wi;
}
