// Real-space kernel of rigid water for the CuPy backend (zzhpc/solvers/water/kernels_cuda.py):
// Lennard-Jones plus the erfc-screened Coulomb term of Ewald over a neighbour list, pairs of different
// molecules inside the cutoff only; conventions of zzhpc/solvers/water/nonbonded.py (pair_forces).
// One thread per owned atom. With a half list (Newton's third law) the partner's share is added with
// atomicAdd (double, sm_60 and later), so force sums may differ in the last bits from run to run;
// energies and virial are written per owned atom and summed by CuPy.
// tab: lj1, lj2, lj3, lj4, qq, cutsq, each ntypes*ntypes, one after the other.

extern "C" __global__ void water_pair(const double* __restrict__ x, const long long* __restrict__ types,
                                      const long long* __restrict__ mol, const int* __restrict__ neigh,
                                      long long nlocal, long long maxn, long long ntypes,
                                      const double* __restrict__ tab, double alpha, int half,
                                      double* __restrict__ f, double* __restrict__ acc)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nlocal) return;
    const long long nt2 = ntypes * ntypes;
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    const long long ti = types[i], mi = mol[i];
    const double a2 = alpha * alpha;
    const double ca = 2.0 * alpha * 0.56418958354775628695;   // 2 alpha / sqrt(pi)
    double fx = 0.0, fy = 0.0, fz = 0.0, elj = 0.0, ec = 0.0, w = 0.0;
    for (long long k = 0; k < maxn; ++k) {
        const int j = neigh[i * maxn + k];
        if (j < 0) break;
        const double dx = xi - x[3 * j], dy = yi - x[3 * j + 1], dz = zi - x[3 * j + 2];
        const double r2 = dx * dx + dy * dy + dz * dz;
        const long long t = ti * ntypes + types[j];
        if (r2 >= tab[5 * nt2 + t] || mol[j] == mi) continue;
        const double r2i = 1.0 / r2;
        const double r6i = r2i * r2i * r2i;
        const double r = sqrt(r2);
        const double qq = tab[4 * nt2 + t];
        const double e = qq * erfc(alpha * r) / r;
        const double fp = (e + qq * ca * exp(-a2 * r2)) * r2i + r6i * (tab[t] * r6i - tab[nt2 + t]) * r2i;
        elj += r6i * (tab[2 * nt2 + t] * r6i - tab[3 * nt2 + t]);
        ec += e;
        w += r2 * fp;
        fx += dx * fp;
        fy += dy * fp;
        fz += dz * fp;
        if (half) {
            atomicAdd(&f[3 * j], -dx * fp);
            atomicAdd(&f[3 * j + 1], -dy * fp);
            atomicAdd(&f[3 * j + 2], -dz * fp);
        }
    }
    if (half) {   // other threads may be adding their share to this row
        atomicAdd(&f[3 * i], fx);
        atomicAdd(&f[3 * i + 1], fy);
        atomicAdd(&f[3 * i + 2], fz);
    } else {
        f[3 * i] = fx;
        f[3 * i + 1] = fy;
        f[3 * i + 2] = fz;
    }
    acc[3 * i] = elj;
    acc[3 * i + 1] = ec;
    acc[3 * i + 2] = w;
}
