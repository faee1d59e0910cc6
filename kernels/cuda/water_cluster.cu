// Cluster-pair real-space kernel of rigid water in mixed precision (CuPy: zzhpc/solvers/water/kernels_cluster_cuda.py):
// Lennard-Jones plus the erfc-screened Coulomb term of Ewald, the scheme of GROMACS's nbnxm kernels
// (S. Pall and B. Hess, Comput. Phys. Commun. 184, 2641 (2013)) over clusters of 4 atoms. Physics, units and
// energies as zzhpc/solvers/water/nonbonded.py (pair_forces); float32 arithmetic as kernels_mixed.py.
//
// Layout (CLUSTER = 4 slots per cluster, nclus clusters, slot arrays of 4*nclus rows):
//   xs     float32 (4*nclus, 3)  slot position relative to its cluster's centre [A]; filler slots far away
//   tslot  int32   (4*nclus)     atom type per slot (a negative filler type is read as 0; fillers are masked)
//   ci_start int32 (nclus+1), cj int32 (npair): CSR inner list, the j-clusters of i-cluster ci are
//          cj[ci_start[ci] .. ci_start[ci+1])
//   mask   uint16 (npair)        bit 4*a + b: slot a of ci and slot b of cj form a pair to compute (exclusions
//          and fillers are cleared; each atom pair is set once overall, on ci == cj only one of (a,b), (b,a))
//   shift  float32 (npair, 3)    centre[ci] - centre[cj] (plus the box vector where a list pairs periodic images
//                                rather than ghost rows): r_ij = xs[4 ci + a] - xs[4 cj + b] + shift
//   tabf   float32 (3, nt, nt)   lj1, lj2, qq of pair_tables (nonbonded.py), rounded: the force terms
//   tabw   float64 (3, nt, nt)   lj3, lj4, qq of pair_tables: the energy terms
//   rc2    float32               the squared cutoff [A^2]
// Every pair with its mask bit set and r^2 < rc2 (both float32) is computed.
//
// Precision (backend.precision = "mixed", docs/precision.md), as the reference water_cluster_forces
// (nonbonded.py) in float32 lanes: r_ij, r^2, erfc, exp, the LJ powers and the scalar force F(r) are float32
// (alpha and alpha^2 as float32 pairs hi + lo, as kernels_mixed.py: a rounded alpha biases erfc(alpha r) with an
// r-dependence the cancelling O-O, O-H, H-H sums do not cancel); the products F(r) r_ij and every sum are float64.
// f (4*nclus, 3) float64 is ADDED to (the caller zeroes it): +F on the i slot, -F on the j slot (Newton).
// Energies and the virial sum r_ij . f_ij are float32 pair values times the float64 tables, summed in float64
// per thread into acc (4*nclus, 3) = (e_lj, e_coul, virial) and reduced by the caller (deterministic).
// with_energy = 0 skips them (acc is left untouched): the force-only steps, as GROMACS's F-only kernels.
//
// GPU mapping: one thread per (i-cluster ci, j-slot b), i.e. 4 consecutive threads per i-cluster, thread
// tid = 4*ci + b; a warp holds 8 i-clusters. The 4 threads of ci walk the same j-cluster list: cj, mask and
// shift are one broadcast load per warp-quarter, the 4 j positions one coalesced 48-byte load. Each thread
// computes the 4 pairs (a = 0..3, b) of every j-cluster: its j force is summed over a in registers
// and added with 3 double atomicAdds per j-cluster (skipped when none of the 4 pairs is inside), the forces on
// the 4 i slots stay in 12 double registers over the whole list and go out with 12 atomicAdds at the end. Per
// cluster pair that is 12 j atomics, as one thread per i-cluster, but with 4x the threads (a system of N atoms
// has N threads, not N/4, which fills a GPU from ~1e5 atoms on). Force sums therefore depend on the atomics'
// order in their last bits (double); energies do not. Double atomicAdd needs sm_60 or later. nvcc gives it 96
// registers and no spills on sm_80 and sm_90 (tests/test_cuda_sources.py keeps it within 128). On cards with
// slow float64 (consumer parts: 1/64 rate) the 6 double multiply-adds per pair would cost more than the
// float32 pair terms; there the sums would go to float32 per cluster pair, float64 per list.
// The same source runs on the host in tests/test_cuda_host.py (blockDim 1, one thread per call).

extern "C" __global__ void water_cluster(const float* __restrict__ xs, const int* __restrict__ tslot,
                                         const int* __restrict__ ci_start, const int* __restrict__ cj,
                                         const unsigned short* __restrict__ mask, const float* __restrict__ shift,
                                         int nclus, int ntypes, const float* __restrict__ tabf,
                                         const double* __restrict__ tabw, float rc2, double alpha, int with_energy,
                                         double* __restrict__ f, double* __restrict__ acc)
{
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (tid >= 4LL * nclus) return;
    const int ci = (int)(tid >> 2), b = (int)(tid & 3);
    const int nt2 = ntypes * ntypes;
    const float a_hi = (float)alpha, a_lo = (float)(alpha - (double)a_hi);
    const float a2_hi = (float)(alpha * alpha), a2_lo = (float)(alpha * alpha - (double)a2_hi);
    const float ca = (float)(2.0 * alpha * 0.56418958354775628695);   // 2 alpha / sqrt(pi)

    float xi[4][3];
    int ti[4];
    for (int a = 0; a < 4; ++a) {
        const long long s = 4LL * ci + a;
        xi[a][0] = xs[3 * s];
        xi[a][1] = xs[3 * s + 1];
        xi[a][2] = xs[3 * s + 2];
        ti[a] = tslot[s] < 0 ? 0 : tslot[s];
    }
    double fi[4][3] = {{0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}};
    double elj = 0.0, ec = 0.0, w = 0.0;

    for (int k = ci_start[ci]; k < ci_start[ci + 1]; ++k) {
        const unsigned m = (unsigned)mask[k] >> b;   // bit 4a of m: pair (a, b)
        if ((m & 0x1111u) == 0u) continue;            // this thread's j slot has no pair in this cluster pair
        const long long sj = 4LL * cj[k] + b;
        const float xj = xs[3 * sj] - shift[3 * k], yj = xs[3 * sj + 1] - shift[3 * k + 1],
                    zj = xs[3 * sj + 2] - shift[3 * k + 2];
        const int tj = tslot[sj] < 0 ? 0 : tslot[sj];
        double fjx = 0.0, fjy = 0.0, fjz = 0.0;
        bool any = false;
        for (int a = 0; a < 4; ++a) {
            const float dx = xi[a][0] - xj, dy = xi[a][1] - yj, dz = xi[a][2] - zj;
            const float r2 = dx * dx + dy * dy + dz * dz;
            const int t = ti[a] * ntypes + tj;
            // Branch-free: a lane outside the mask or the cutoff computes at r = 1 and contributes zero.
            const bool in = ((m >> (4 * a)) & 1u) && r2 < rc2;
            any = any || in;
            const float r2s = in ? r2 : 1.0f;
            const float r2i = 1.0f / r2s;
            const float r6i = r2i * r2i * r2i;
            const float r = sqrtf(r2s);
            const float erfc_r = erfcf(a_hi * r + a_lo * r) / r;   // erfc(alpha r) / r, without the charges
            const float fc = tabf[2 * nt2 + t] * (erfc_r + ca * expf(-(a2_hi * r2s + a2_lo * r2s))) * r2i;
            const float flj = r6i * (tabf[t] * r6i - tabf[nt2 + t]) * r2i;
            const float fp = in ? flj + fc : 0.0f;
            const double fpw = (double)fp;
            const double gx = (double)dx * fpw, gy = (double)dy * fpw, gz = (double)dz * fpw;
            fi[a][0] += gx;
            fi[a][1] += gy;
            fi[a][2] += gz;
            fjx += gx;
            fjy += gy;
            fjz += gz;
            if (with_energy && in) {
                // float32 pair values times the float64 tables: a rounded table entry would bias every pair
                // of its type pair alike.
                const double r6w = (double)r6i;
                elj += r6w * (tabw[t] * r6w - tabw[nt2 + t]);
                ec += tabw[2 * nt2 + t] * (double)erfc_r;
                w += (double)r2 * fpw;
            }
        }
        if (any) {
            atomicAdd(&f[3 * sj], -fjx);
            atomicAdd(&f[3 * sj + 1], -fjy);
            atomicAdd(&f[3 * sj + 2], -fjz);
        }
    }
    for (int a = 0; a < 4; ++a) {   // the 3 other threads of ci add their shares to the same rows
        const long long s = 4LL * ci + a;
        atomicAdd(&f[3 * s], fi[a][0]);
        atomicAdd(&f[3 * s + 1], fi[a][1]);
        atomicAdd(&f[3 * s + 2], fi[a][2]);
    }
    if (with_energy) {
        acc[3 * tid] = elj;
        acc[3 * tid + 1] = ec;
        acc[3 * tid + 2] = w;
    }
}
