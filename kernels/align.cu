// Align1D (G-TAD's RoIAlign-1D with adaptive sampling, SPEC §b.5, golden README item 2), forward
// and backward. CPU twin: src/backend/cpu/align.rs. Gradient contract: dx is overwritten (`=`).
//
// x [B, C, L], rois [R, 3] rows (batch, start, end) in x's dtype, y [R, C, P]. For a roi,
// len = max(e − s, 1), bin = len/P, grid = ceil(len/P); output bin p is Σ_{it < grid} interp(t)
// / grid with t = (s + p·bin) + ((it + 0.5)·bin)/grid. Every step is an explicit round-to-nearest
// intrinsic (__fadd_rn, __fmul_rn, __fdiv_rn), so neither nvcc nor NVRTC contracts it into an
// FMA: t, the weights and the sums round exactly as the CPU twin's f32 code. Reference quirks,
// kept: a sample with t < −1 or t > L adds 0 but counts in the divisor; t ≤ 0 reads x[0];
// ⌊t⌋ ≥ L − 1 reads x[L − 1].
//
//   align1d_fwd  one thread per output (r, c, p).
//   align1d_bwd  deterministic, no atomics (the reference scatters with atomicAdd), for L ≤
//                ALIGN_SMEM_L: one block of W threads per dx row (b, c), W = 64 or 32 fixed by L
//                alone. Thread t scatters the rois t, t + W, … of batch b, in the twin's
//                (p, it, low-then-high) order, into its own f32 row of shared memory; then each
//                dx[b, c, j] sums the W private rows in thread order. Same work as the reference's
//                scatter, and the summation order depends only on (L, R), never on timing.
//   align1d_long_bwd  the fallback for longer features: a gather, one thread per dx[b, c, j]
//                walks every roi of batch b in order and, within each, only the bins whose
//                samples can tap j (a window of two positions either side, widened by a bin),
//                summing in the twin's exact (r, p, it, low-then-high) order. Deterministic, but R
//                roi tests per element: slow for G-TAD's B·L·D anchor tables.
//
// The rois were validated on the host (finite, exact batch index in 0..B, grid ≤ 2^24); the
// kernels still skip a roi whose batch index is out of range rather than read outside x.
#include "common.cuh"

struct Roi {
    long long batch;  // −1 when the index is not usable
    float start;
    float bin;
    size_t grid;
};

__device__ __forceinline__ Roi roi_at(const float* r3, size_t batch, size_t bins) {
    Roi r;
    const float b = r3[0], s = r3[1], e = r3[2];
    r.batch = (b >= 0.0f && b < (float)batch && floorf(b) == b) ? (long long)b : -1;
    const float len = fmaxf(__fsub_rn(e, s), 1.0f);
    r.start = s;
    r.bin = __fdiv_rn(len, (float)bins);
    r.grid = (size_t)ceilf(__fdiv_rn(len, (float)bins));
    return r;
}

// Sample `it` of output bin `p`, in the reference's evaluation order.
__device__ __forceinline__ float sample_at(const Roi& r, size_t p, size_t it) {
    const float half = (float)it + 0.5f;
    return __fadd_rn(__fadd_rn(r.start, __fmul_rn((float)p, r.bin)),
                     __fdiv_rn(__fmul_rn(half, r.bin), (float)r.grid));
}

// The taps and weights of sample t on a row of length l; false outside [−1, L].
__device__ __forceinline__ bool taps(float t, size_t l, size_t* lo, size_t* hi, float* w1, float* w2) {
    if (t < -1.0f || t > (float)l) return false;
    if (t <= 0.0f) t = 0.0f;
    size_t low = (size_t)t;
    size_t high = low + 1;
    if (low + 1 >= l) {
        low = high = l - 1;
        t = (float)(l - 1);
    }
    const float lt = __fsub_rn(t, (float)low);
    *lo = low;
    *hi = high;
    *w1 = __fsub_rn(1.0f, lt);
    *w2 = lt;
    return true;
}

// rois are read as f32 whatever T is: the launcher passes them in x's dtype, converted here.
template <typename T>
__device__ __forceinline__ void roi_row(const T* rois, size_t r, float* out) {
    for (int q = 0; q < 3; ++q) out[q] = to_f32(rois[r * 3 + q]);
}

template <typename T>
__device__ void align1d_fwd(const T* x, const T* rois, T* y, size_t batch, size_t c, size_t l, size_t n_rois,
                            size_t bins) {
    GRID_STRIDE(e, n_rois * c * bins) {
        const size_t p = e % bins;
        const size_t ch = (e / bins) % c;
        const size_t ri = e / (bins * c);
        float r3[3];
        roi_row(rois, ri, r3);
        const Roi r = roi_at(r3, batch, bins);
        if (r.batch < 0) {
            y[e] = from_f32<T>(__int_as_float(0x7fffffff));
            continue;
        }
        const T* xr = x + ((size_t)r.batch * c + ch) * l;
        float acc = 0.0f;
        for (size_t it = 0; it < r.grid; ++it) {
            size_t lo, hi;
            float w1, w2;
            if (taps(sample_at(r, p, it), l, &lo, &hi, &w1, &w2)) {
                acc = __fadd_rn(acc, __fadd_rn(__fmul_rn(w1, to_f32(xr[lo])), __fmul_rn(w2, to_f32(xr[hi]))));
            }
        }
        y[e] = from_f32<T>(__fdiv_rn(acc, (float)r.grid));
    }
}

// Longest feature the shared-memory backward takes: 32 private f32 rows of L fit in 48 KiB.
// Must equal ALIGN_SMEM_L in src/backend/cuda/align.rs.
#define ALIGN_SMEM_L 384

template <typename T>
__device__ void align1d_bwd(const T* dy, const T* rois, T* dx, size_t batch, size_t c, size_t l, size_t n_rois,
                            size_t bins) {
    extern __shared__ float rows[];  // [blockDim.x][l]
    const size_t w = blockDim.x;
    float* mine = rows + threadIdx.x * l;
    for (size_t row = blockIdx.x; row < batch * c; row += gridDim.x) {
        const size_t ch = row % c;
        const size_t b = row / c;
        for (size_t j = 0; j < l; ++j) mine[j] = 0.0f;
        for (size_t ri = threadIdx.x; ri < n_rois; ri += w) {
            float r3[3];
            roi_row(rois, ri, r3);
            const Roi r = roi_at(r3, batch, bins);
            if (r.batch != (long long)b) continue;
            const float count = (float)r.grid;
            const T* g = dy + (ri * c + ch) * bins;
            for (size_t p = 0; p < bins; ++p) {
                const float gp = to_f32(g[p]);
                for (size_t it = 0; it < r.grid; ++it) {
                    size_t lo, hi;
                    float w1, w2;
                    if (!taps(sample_at(r, p, it), l, &lo, &hi, &w1, &w2)) continue;
                    mine[lo] = __fadd_rn(mine[lo], __fdiv_rn(__fmul_rn(gp, w1), count));
                    mine[hi] = __fadd_rn(mine[hi], __fdiv_rn(__fmul_rn(gp, w2), count));
                }
            }
        }
        __syncthreads();
        for (size_t j = threadIdx.x; j < l; j += w) {
            float acc = 0.0f;
            for (size_t t = 0; t < w; ++t) acc = __fadd_rn(acc, rows[t * l + j]);
            dx[row * l + j] = from_f32<T>(acc);
        }
        __syncthreads();  // the private rows are cleared for the next dx row
    }
}

template <typename T>
__device__ void align1d_long_bwd(const T* dy, const T* rois, T* dx, size_t batch, size_t c, size_t l, size_t n_rois,
                            size_t bins) {
    GRID_STRIDE(e, batch * c * l) {
        const size_t j = e % l;
        const size_t ch = (e / l) % c;
        const size_t b = e / (l * c);
        float acc = 0.0f;
        for (size_t ri = 0; ri < n_rois; ++ri) {
            float r3[3];
            roi_row(rois, ri, r3);
            const Roi r = roi_at(r3, batch, bins);
            if (r.batch != (long long)b) continue;
            // Samples tapping j lie in t ∈ [j − 1, j + 1) after clamping (t ≤ 0 taps 0 and 1,
            // t ≥ L − 1 taps L − 1 only): [j − 2, j + 2] covers them with a position to spare, and
            // one bin either side covers the rounding of t. In double, so the window itself does
            // not round.
            const double bin = (double)r.bin;
            const double from = floor(((double)j - 2.0 - (double)r.start) / bin) - 1.0;
            const double to = floor(((double)j + 2.0 - (double)r.start) / bin) + 1.0;
            if (to < 0.0 || from > (double)(bins - 1)) continue;
            const size_t p0 = from < 0.0 ? 0 : (size_t)from;
            const size_t p1 = to > (double)(bins - 1) ? bins - 1 : (size_t)to;
            const float count = (float)r.grid;
            const T* g = dy + (ri * c + ch) * bins;
            for (size_t p = p0; p <= p1; ++p) {
                const float gp = to_f32(g[p]);
                for (size_t it = 0; it < r.grid; ++it) {
                    size_t lo, hi;
                    float w1, w2;
                    if (!taps(sample_at(r, p, it), l, &lo, &hi, &w1, &w2)) continue;
                    if (lo == j) acc = __fadd_rn(acc, __fdiv_rn(__fmul_rn(gp, w1), count));
                    if (hi == j) acc = __fadd_rn(acc, __fdiv_rn(__fmul_rn(gp, w2), count));
                }
            }
        }
        dx[e] = from_f32<T>(acc);
    }
}

#define ALIGN_ENTRIES(T, S)                                                                        \
    extern "C" __global__ void align1d_fwd_##S(const T* x, const T* rois, T* y, size_t batch, size_t c, \
                                               size_t l, size_t n_rois, size_t bins) {             \
        align1d_fwd(x, rois, y, batch, c, l, n_rois, bins);                                        \
    }                                                                                              \
    extern "C" __global__ void align1d_bwd_##S(const T* dy, const T* rois, T* dx, size_t batch, size_t c, \
                                               size_t l, size_t n_rois, size_t bins) {             \
        align1d_bwd(dy, rois, dx, batch, c, l, n_rois, bins);                                      \
    }                                                                                              \
    extern "C" __global__ void align1d_long_bwd_##S(const T* dy, const T* rois, T* dx, size_t batch,   \
                                                    size_t c, size_t l, size_t n_rois, size_t bins) { \
        align1d_long_bwd(dy, rois, dx, batch, c, l, n_rois, bins);                                 \
    }

ALIGN_ENTRIES(float, f32)
#ifdef LOFI_BF16
ALIGN_ENTRIES(__nv_bfloat16, bf16)
#endif
