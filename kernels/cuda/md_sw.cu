// Stillinger-Weber forces (mW water, silicon) for the CuPy backend (zzhpc/solvers/md/kernels_cuda.py),
// conventions of zzhpc/solvers/md/kernels_sw.py: a full neighbour list (rows padded with -1); each
// two-body pair once (owned partner: j > i; ghost partner: the upper half of space, as LAMMPS), the
// three-body terms centred on every owned atom i over the pairs {j, k} of its row within the cutoff.
// One thread per owned atom; forces on the partners (owned or ghost rows) and on i itself go by
// atomicAdd (double, sm_60 and later), so sums may differ in the last bits from run to run. The radial
// exponential is recomputed per triplet (no per-thread neighbour cache); energy and virial are written
// per owned atom and summed by CuPy.
// c: cut, cutsq, sigma, sigma*gamma, lambda*eps, 2*lambda*eps, cos(theta0), p, q, c1..c6 (as
// zzhpc.solvers.md.sw.sw_constants).

// Separation x_j - x_i, r^2, r and the radial factors of a three-body leg: e = exp(sg / (r - cut)) and
// g = sg / ((r - cut)^2 r). False (nothing else set) when j is outside the cutoff.
struct SWLeg { double x, y, z, r2, r, e, g; };

__device__ inline bool sw_leg(const double* __restrict__ x, long long j, double xi, double yi, double zi,
                              double cut, double cutsq, double sg, SWLeg& l)
{
    l.x = x[3 * j] - xi;
    l.y = x[3 * j + 1] - yi;
    l.z = x[3 * j + 2] - zi;
    l.r2 = l.x * l.x + l.y * l.y + l.z * l.z;
    if (l.r2 >= cutsq) return false;
    l.r = sqrt(l.r2);
    const double rainv = 1.0 / (l.r - cut);
    const double gs = sg * rainv;
    l.e = exp(gs);
    l.g = gs * rainv / l.r;
    return true;
}

extern "C" __global__ void md_sw_full(const double* __restrict__ x, const long long* __restrict__ neigh,
                                      long long nlocal, long long maxn, const double* __restrict__ c,
                                      double* __restrict__ f, double* __restrict__ acc)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nlocal) return;
    const double cut = c[0], cutsq = c[1], sigma = c[2], sg = c[3], le = c[4], le2 = c[5], cth = c[6];
    const double pp = c[7], pq = c[8], c1 = c[9], c2 = c[10], c3 = c[11], c4 = c[12], c5 = c[13], c6 = c[14];
    const bool p_int = (pp == 4.0 && pq == 0.0);   // mW and silicon: no pow()
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    const long long* row = neigh + i * maxn;
    double fix = 0.0, fiy = 0.0, fiz = 0.0, e = 0.0, w = 0.0;

    // Two-body terms, each pair once.
    for (long long s = 0; s < maxn; ++s) {
        const long long j = row[s];
        if (j < 0) break;
        const double dx = x[3 * j] - xi, dy = x[3 * j + 1] - yi, dz = x[3 * j + 2] - zi;
        const double r2 = dx * dx + dy * dy + dz * dz;
        if (r2 >= cutsq) continue;
        if (j < nlocal) {
            if (j <= i) continue;
        } else if (!(dz > 0.0 || (dz == 0.0 && (dy > 0.0 || (dy == 0.0 && dx > 0.0))))) {
            continue;
        }
        const double r = sqrt(r2);
        const double rainv = 1.0 / (r - cut);
        double rp, rq;
        if (p_int) {
            const double ri2 = 1.0 / r2;
            rp = ri2 * ri2;
            rq = 1.0;
        } else {
            rp = pow(r, -pp);
            rq = pow(r, -pq);
        }
        const double ex = exp(sigma * rainv);
        const double fp = (c1 * rp - c2 * rq + (c3 * rp - c4 * rq) * rainv * rainv * r) * ex / r2;
        fix -= dx * fp;
        fiy -= dy * fp;
        fiz -= dz * fp;
        atomicAdd(&f[3 * j], dx * fp);
        atomicAdd(&f[3 * j + 1], dy * fp);
        atomicAdd(&f[3 * j + 2], dz * fp);
        e += (c5 * rp - c6 * rq) * ex;
        w += r2 * fp;
    }

    // Three-body terms centred on i.
    for (long long a = 0; a < maxn; ++a) {
        const long long ja = row[a];
        if (ja < 0) break;
        SWLeg A;
        if (!sw_leg(x, ja, xi, yi, zi, cut, cutsq, sg, A)) continue;
        double fax = 0.0, fay = 0.0, faz = 0.0;
        for (long long b = a + 1; b < maxn; ++b) {
            const long long k = row[b];
            if (k < 0) break;
            SWLeg B;
            if (!sw_leg(x, k, xi, yi, zi, cut, cutsq, sg, B)) continue;
            const double rinv12 = 1.0 / (A.r * B.r);
            const double cs = (A.x * B.x + A.y * B.y + A.z * B.z) * rinv12;
            const double delcs = cs - cth;
            const double facexp = A.e * B.e;
            const double facrad = le * facexp * delcs * delcs;
            const double facang = le2 * facexp * delcs;
            const double facang12 = rinv12 * facang;
            const double csfacang = cs * facang;
            const double t1 = facrad * A.g + csfacang / A.r2;
            const double t2 = facrad * B.g + csfacang / B.r2;
            const double fjx = A.x * t1 - B.x * facang12, fjy = A.y * t1 - B.y * facang12, fjz = A.z * t1 - B.z * facang12;
            const double fkx = B.x * t2 - A.x * facang12, fky = B.y * t2 - A.y * facang12, fkz = B.z * t2 - A.z * facang12;
            fix -= fjx + fkx;
            fiy -= fjy + fky;
            fiz -= fjz + fkz;
            fax += fjx;
            fay += fjy;
            faz += fjz;
            atomicAdd(&f[3 * k], fkx);
            atomicAdd(&f[3 * k + 1], fky);
            atomicAdd(&f[3 * k + 2], fkz);
            e += facrad;
            w += A.x * fjx + A.y * fjy + A.z * fjz + B.x * fkx + B.y * fky + B.z * fkz;
        }
        atomicAdd(&f[3 * ja], fax);
        atomicAdd(&f[3 * ja + 1], fay);
        atomicAdd(&f[3 * ja + 2], faz);
    }
    atomicAdd(&f[3 * i], fix);
    atomicAdd(&f[3 * i + 1], fiy);
    atomicAdd(&f[3 * i + 2], fiz);
    acc[2 * i] = e;
    acc[2 * i + 1] = w;
}
