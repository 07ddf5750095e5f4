// Layout kernels: permute (rank ≤ 6) and the axis copies behind concat and slice.
// CPU twin: src/backend/cpu/layout.rs; `lofi selftest` compares them.
//
//   permute          y[i] = x[Σ_a coord_a(i)·src_stride[a]]: one thread per output element, the
//                    output coordinates peeled off y's dims from the last axis; dims and the strides
//                    of x for each output axis travel by value in PermuteDims (unused axes: dim 1).
//   copy_into_axis   x viewed [outer, x_mid, inner] is written into y [outer, y_mid, inner] at mid
//                    offset `offset` (concat forward, slice backward); the rest of y is untouched.
//   copy_from_axis   y [outer, y_mid, inner] = x [outer, x_mid, inner] from mid offset `offset`
//                    (slice forward, concat backward).
// Pure copies: no arithmetic, so bf16 results are bit-identical to the twin's.
#include "common.cuh"

#define PERMUTE_MAX_RANK 6

struct PermuteDims {
    size_t rank;
    size_t dims[PERMUTE_MAX_RANK];        // y's dims
    size_t src_strides[PERMUTE_MAX_RANK];  // x's stride of the axis each y axis reads
};

template <typename T> __device__ void permute(const T* x, T* y, size_t n, PermuteDims d) {
    GRID_STRIDE(i, n) {
        size_t rem = i;
        size_t src = 0;
        for (int a = (int)d.rank - 1; a >= 0; --a) {
            src += (rem % d.dims[a]) * d.src_strides[a];
            rem /= d.dims[a];
        }
        y[i] = x[src];
    }
}

// x_row = x_mid·inner and y_row = y_mid·inner elements per outer row.
template <typename T>
__device__ void copy_into_axis(const T* x, T* y, size_t n, size_t x_row, size_t y_row, size_t start) {
    GRID_STRIDE(i, n) { y[(i / x_row) * y_row + start + i % x_row] = x[i]; }
}

template <typename T>
__device__ void copy_from_axis(const T* x, T* y, size_t n, size_t x_row, size_t y_row, size_t start) {
    GRID_STRIDE(i, n) { y[i] = x[(i / y_row) * x_row + start + i % y_row]; }
}

#define LAYOUT_ENTRIES(T, S)                                                                       \
    extern "C" __global__ void permute_##S(const T* x, T* y, size_t n, PermuteDims d) { permute(x, y, n, d); } \
    extern "C" __global__ void copy_into_axis_##S(const T* x, T* y, size_t n, size_t x_row, size_t y_row, \
                                                  size_t start) {                                  \
        copy_into_axis(x, y, n, x_row, y_row, start);                                              \
    }                                                                                              \
    extern "C" __global__ void copy_from_axis_##S(const T* x, T* y, size_t n, size_t x_row, size_t y_row, \
                                                  size_t start) {                                  \
        copy_from_axis(x, y, n, x_row, y_row, start);                                              \
    }

LAYOUT_ENTRIES(float, f32)
#ifdef LOFI_BF16
LAYOUT_ENTRIES(__nv_bfloat16, bf16)
#endif
