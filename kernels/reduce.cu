// Reductions and broadcasts over the middle axis of an [outer, axis, inner] view.
// CPU twins: src/backend/cpu/reduce.rs (which accumulates in f64; here f32, for every dtype).
//
//   sum_axis_fwd       y[o, i] = alpha · Σ_a x[o, a, i]; one block per output, the block sums the
//                      axis with warp shuffles, one shared slot per warp, then a final shuffle.
//                      For small `inner` (a row sum when inner = 1: global average pooling).
//   sum_axis_wide_fwd  the same sum for inner ≥ 32: a 32×8 block owns 32 adjacent outputs, so reads
//                      along `inner` are coalesced; the 8 partial sums per output meet in shared
//                      memory (the snippet mean over frames, bias gradients).
//   broadcast_axis_fwd y[o, a, i] = alpha · x[o, i] (the adjoint of the sum).
//
// The Rust side picks sum_axis_fwd or sum_axis_wide_fwd from the shape; both are checked against
// the CPU by `lofi selftest`.
#include "common.cuh"

template <typename T>
__device__ void sum_axis_fwd(const T* x, T* y, size_t outer, size_t axis, size_t inner, float alpha) {
    for (size_t out = blockIdx.x; out < outer * inner; out += gridDim.x) {
        const size_t o = out / inner;
        const size_t i = out % inner;
        const T* row = x + o * axis * inner + i;
        float acc = 0.0f;
        for (size_t a = threadIdx.x; a < axis; a += blockDim.x) acc += to_f32(row[a * inner]);
        acc = block_sum(acc);
        if (threadIdx.x == 0) y[out] = from_f32<T>(alpha * acc);
    }
}

// Block (32, WIDE_ROWS): threadIdx.x walks inner, threadIdx.y strides the axis.
#define WIDE_ROWS 8

template <typename T>
__device__ void sum_axis_wide_fwd(const T* x, T* y, size_t outer, size_t axis, size_t inner, float alpha) {
    __shared__ float partial[WIDE_ROWS][33];  // 33: no bank conflicts when row 0 reads a column
    const size_t tiles_per_row = (inner + 31) / 32;
    for (size_t tile = blockIdx.x; tile < outer * tiles_per_row; tile += gridDim.x) {
        const size_t o = tile / tiles_per_row;
        const size_t i = (tile % tiles_per_row) * 32 + threadIdx.x;
        float acc = 0.0f;
        if (i < inner) {
            for (size_t a = threadIdx.y; a < axis; a += WIDE_ROWS) acc += to_f32(x[(o * axis + a) * inner + i]);
        }
        partial[threadIdx.y][threadIdx.x] = acc;
        __syncthreads();
        if (threadIdx.y == 0 && i < inner) {
            float s = 0.0f;
            for (int r = 0; r < WIDE_ROWS; ++r) s += partial[r][threadIdx.x];
            y[o * inner + i] = from_f32<T>(alpha * s);
        }
        __syncthreads();  // partial is rewritten by the next tile
    }
}

template <typename T>
__device__ void broadcast_axis_fwd(const T* x, T* y, size_t outer, size_t axis, size_t inner, float alpha) {
    GRID_STRIDE(j, outer * axis * inner) {
        const size_t o = j / (axis * inner);
        const size_t i = j % inner;
        y[j] = from_f32<T>(alpha * to_f32(x[o * inner + i]));
    }
}

#define REDUCE_ENTRIES(T, S)                                                                       \
    extern "C" __global__ void sum_axis_fwd_##S(const T* x, T* y, size_t outer, size_t axis, size_t inner, \
                                                float alpha) {                                     \
        sum_axis_fwd(x, y, outer, axis, inner, alpha);                                             \
    }                                                                                              \
    extern "C" __global__ void sum_axis_wide_fwd_##S(const T* x, T* y, size_t outer, size_t axis,  \
                                                     size_t inner, float alpha) {                  \
        sum_axis_wide_fwd(x, y, outer, axis, inner, alpha);                                        \
    }                                                                                              \
    extern "C" __global__ void broadcast_axis_fwd_##S(const T* x, T* y, size_t outer, size_t axis, \
                                                      size_t inner, float alpha) {                 \
        broadcast_axis_fwd(x, y, outer, axis, inner, alpha);                                       \
    }

REDUCE_ENTRIES(float, f32)
#ifdef LOFI_BF16
REDUCE_ENTRIES(__nv_bfloat16, bf16)
#endif
