// TSM temporal shift (SPEC §a), forward and backward. CPU twin: src/backend/cpu/shift.rs.
//
// x is (N·T, C, H·W) with T frames per snippet. Forward: channels [0, fold) read frame t+1,
// channels [fold, 2·fold) read frame t−1, the rest are copied; zeros where the source frame falls
// outside the snippet, so shifts never cross snippets. Backward is the adjoint: the same gather
// with the direction reversed, again with zeros at the snippet ends. dx is overwritten (`=`).
//
// One thread per output element (a gather, so every output is written exactly once and needs no
// atomics); reads stay coalesced because consecutive threads walk the contiguous H·W plane.
#include "common.cuh"

// dir = +1 for forward, −1 for backward.
template <typename T>
__device__ void shift(const T* src, T* dst, size_t n, size_t frames, size_t channels, size_t hw, size_t fold,
                      long long dir) {
    GRID_STRIDE(i, n) {
        const size_t p = i % hw;
        const size_t rest = i / hw;
        const size_t c = rest % channels;
        const size_t row = rest / channels;
        const size_t t = row % frames;
        const long long offset = c < fold ? 1 : (c < 2 * fold ? -1 : 0);
        const long long from = (long long)t + dir * offset;
        if (from < 0 || from >= (long long)frames) {
            dst[i] = from_f32<T>(0.0f);
        } else {
            dst[i] = src[((row - t + (size_t)from) * channels + c) * hw + p];
        }
    }
}

#define SHIFT_ENTRIES(T, S)                                                                        \
    extern "C" __global__ void shift_fwd_##S(const T* x, T* y, size_t n, size_t frames, size_t channels, \
                                             size_t hw, size_t fold) {                             \
        shift(x, y, n, frames, channels, hw, fold, 1);                                             \
    }                                                                                              \
    extern "C" __global__ void shift_bwd_##S(const T* dy, T* dx, size_t n, size_t frames, size_t channels, \
                                             size_t hw, size_t fold) {                             \
        shift(dy, dx, n, frames, channels, hw, fold, -1);                                          \
    }

SHIFT_ENTRIES(float, f32)
#ifdef LOFI_BF16
SHIFT_ENTRIES(__nv_bfloat16, bf16)
#endif
