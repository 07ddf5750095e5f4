// Gather along an axis and its adjoint, the scatter-add: x viewed [outer, n, inner], idx an i64
// list of length m. CPU twins: gather_axis and scatter_add_axis in src/backend/cpu/layout.rs.
// Gradient contract: scatter_add_axis_fwd overwrites dx (`=`; it zeroes what no index reaches).
//
//   gather_axis_fwd       y[o, j, i] = x[o, idx[j], i]; one thread per output.
//   scatter_add_axis_fwd  dx[o, d, i] = Σ_{j : idx[j] = d} dy[o, j, i], summed in j order as the
//                         twin does: one thread per dx element scans the whole index list, so
//                         there are no atomics and the sums are deterministic; O(m) per element.
//
// Index guard: an index outside 0..n is never dereferenced. The gather writes NaN where it would
// have read; the scatter writes NaN to every element (each scans the whole list), so a bad index
// fails loudly instead of corrupting memory or dropping a gradient.
#include "common.cuh"

#define LOFI_NAN __int_as_float(0x7fffffff)

template <typename T>
__device__ void gather_axis_fwd(const T* x, const long long* idx, T* y, size_t outer, size_t n, size_t m,
                                size_t inner) {
    GRID_STRIDE(e, outer * m * inner) {
        const size_t i = e % inner;
        const size_t j = (e / inner) % m;
        const size_t o = e / (inner * m);
        const long long src = idx[j];
        y[e] = (src >= 0 && (size_t)src < n) ? x[(o * n + (size_t)src) * inner + i] : from_f32<T>(LOFI_NAN);
    }
}

template <typename T>
__device__ void scatter_add_axis_fwd(const T* dy, const long long* idx, T* dx, size_t outer, size_t n, size_t m,
                                     size_t inner) {
    GRID_STRIDE(e, outer * n * inner) {
        const size_t i = e % inner;
        const size_t d = (e / inner) % n;
        const size_t o = e / (inner * n);
        float acc = 0.0f;
        bool bad = false;
        for (size_t j = 0; j < m; ++j) {
            const long long dst = idx[j];
            bad |= dst < 0 || (size_t)dst >= n;
            if (dst == (long long)d) acc += to_f32(dy[(o * m + j) * inner + i]);
        }
        dx[e] = from_f32<T>(bad ? LOFI_NAN : acc);
    }
}

#define GATHER_ENTRIES(T, S)                                                                       \
    extern "C" __global__ void gather_axis_fwd_##S(const T* x, const long long* idx, T* y, size_t outer, \
                                                   size_t n, size_t m, size_t inner) {             \
        gather_axis_fwd(x, idx, y, outer, n, m, inner);                                            \
    }                                                                                              \
    extern "C" __global__ void scatter_add_axis_fwd_##S(const T* dy, const long long* idx, T* dx,  \
                                                        size_t outer, size_t n, size_t m, size_t inner) { \
        scatter_add_axis_fwd(dy, idx, dx, outer, n, m, inner);                                     \
    }

GATHER_ENTRIES(float, f32)
#ifdef LOFI_BF16
GATHER_ENTRIES(__nv_bfloat16, bf16)
#endif
