// Explicit (FTCS) heat-equation update on a padded 3-D block, one thread per interior cell.
// u and out have shape (n0 + 2, n1 + 2, n2 + 2), C order; c0, c1, c2 = alpha * dt / h_d^2.
// Loaded by zzhpc/solvers/heat/kernels.py through cupy.RawModule; compiled by nvcc in tests.
template <typename T>
__device__ void heat_ftcs(const T* __restrict__ u, T* __restrict__ out, int n0, int n1, int n2,
                          T c0, T c1, T c2)
{
    const int k = blockIdx.x * blockDim.x + threadIdx.x;
    const int j = blockIdx.y * blockDim.y + threadIdx.y;
    const int i = blockIdx.z;
    if (i >= n0 || j >= n1 || k >= n2) return;
    const long s1 = n2 + 2, s0 = (long)(n1 + 2) * s1;
    const long c = (long)(i + 1) * s0 + (long)(j + 1) * s1 + (k + 1);
    const T uc = u[c];
    out[c] = uc + c0 * (u[c + s0] + u[c - s0] - 2 * uc)
                + c1 * (u[c + s1] + u[c - s1] - 2 * uc)
                + c2 * (u[c + 1] + u[c - 1] - 2 * uc);
}

extern "C" __global__ void heat_ftcs_f64(const double* u, double* out, int n0, int n1, int n2,
                                         double c0, double c1, double c2)
{
    heat_ftcs<double>(u, out, n0, n1, n2, c0, c1, c2);
}

extern "C" __global__ void heat_ftcs_f32(const float* u, float* out, int n0, int n1, int n2,
                                         float c0, float c1, float c2)
{
    heat_ftcs<float>(u, out, n0, n1, n2, c0, c1, c2);
}
