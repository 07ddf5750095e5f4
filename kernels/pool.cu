// 2-D max pooling (NCHW planes, square windows, −∞ padding), forward and backward.
// CPU twin: src/backend/cpu/pool.rs; `lofi selftest` compares them.
//
//   maxpool2d_fwd  one thread per output: y = the window's maximum, argmax (i64) = the flat
//                  iy·W + ix of the FIRST maximum in window order (strict '>', so a later equal
//                  value never wins; the first in-bounds tap is taken even if it is NaN, as the twin).
//   maxpool2d_bwd  dx is overwritten (`=`). Overlapping windows (k > stride) let several outputs
//                  point at one input, so instead of a scatter with atomics each thread owns one
//                  input element and gathers dy from the outputs whose window covers it, in output
//                  order (the twin's accumulation order), keeping those whose argmax is this element.
//                  Contract: argmax comes from maxpool2d_fwd (each index lies in its own window).
#include "common.cuh"

struct PoolDims {
    size_t planes, h, w, k, stride, pad, ho, wo;
};

template <typename T> __device__ void maxpool2d_fwd(const T* x, T* y, long long* argmax, PoolDims g) {
    const size_t hw_out = g.ho * g.wo;
    GRID_STRIDE(i, g.planes * hw_out) {
        const size_t p = i / hw_out;
        const size_t oy = (i % hw_out) / g.wo;
        const size_t ox = i % g.wo;
        const T* plane = x + p * g.h * g.w;
        float best = -__int_as_float(0x7f800000);  // −∞ (no math_constants.h under NVRTC)
        long long at = -1;
        for (size_t ky = 0; ky < g.k; ++ky) {
            const long long iy = (long long)(oy * g.stride + ky) - (long long)g.pad;
            if (iy < 0 || iy >= (long long)g.h) continue;
            for (size_t kx = 0; kx < g.k; ++kx) {
                const long long ix = (long long)(ox * g.stride + kx) - (long long)g.pad;
                if (ix < 0 || ix >= (long long)g.w) continue;
                const long long idx = iy * (long long)g.w + ix;
                const float v = to_f32(plane[idx]);
                if (v > best || at < 0) {
                    best = v;
                    at = idx;
                }
            }
        }
        y[i] = from_f32<T>(best);
        argmax[i] = at;
    }
}

template <typename T> __device__ void maxpool2d_bwd(const T* dy, const long long* argmax, T* dx, PoolDims g) {
    const size_t hw_in = g.h * g.w;
    const size_t hw_out = g.ho * g.wo;
    GRID_STRIDE(i, g.planes * hw_in) {
        const size_t p = i / hw_in;
        const size_t iy = (i % hw_in) / g.w;
        const size_t ix = i % g.w;
        const long long self = (long long)(i % hw_in);
        // Outputs o with o·stride ≤ i + pad ≤ o·stride + k − 1.
        const size_t py = iy + g.pad, px = ix + g.pad;
        const size_t oy0 = py + 1 > g.k ? (py + 1 - g.k + g.stride - 1) / g.stride : 0;
        const size_t ox0 = px + 1 > g.k ? (px + 1 - g.k + g.stride - 1) / g.stride : 0;
        const size_t oy1 = min(py / g.stride + 1, g.ho);
        const size_t ox1 = min(px / g.stride + 1, g.wo);
        float acc = 0.0f;
        for (size_t oy = oy0; oy < oy1; ++oy) {
            for (size_t ox = ox0; ox < ox1; ++ox) {
                const size_t o = p * hw_out + oy * g.wo + ox;
                if (argmax[o] == self) acc += to_f32(dy[o]);
            }
        }
        dx[i] = from_f32<T>(acc);
    }
}

#define POOL_ENTRIES(T, S)                                                                         \
    extern "C" __global__ void maxpool2d_fwd_##S(const T* x, T* y, long long* argmax, PoolDims g) { \
        maxpool2d_fwd(x, y, argmax, g);                                                            \
    }                                                                                              \
    extern "C" __global__ void maxpool2d_bwd_##S(const T* dy, const long long* argmax, T* dx, PoolDims g) { \
        maxpool2d_bwd(dy, argmax, dx, g);                                                          \
    }

POOL_ENTRIES(float, f32)
#ifdef LOFI_BF16
POOL_ENTRIES(__nv_bfloat16, bf16)
#endif
