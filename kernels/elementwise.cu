// Elementwise kernels: relu and sigmoid (forward and backward), add/sub/mul, scale, fill and the
// per-channel bias add. CPU twins: src/backend/cpu/elementwise.rs; `lofi selftest` compares them.
//
// Every body computes in f32 and rounds once on store, so bf16 results are the correctly rounded
// f32 results. Gradient contract (src/backend/mod.rs): backward kernels overwrite dx (`=`); the
// autograd tape accumulates reused values.
//
// Entry points: <op>_<fwd|bwd>_<dtype>, and fill_<dtype> (not half of a differentiable pair);
// one macro line per dtype stamps them from the templated bodies.
#include "common.cuh"

// relu'(0) = 0, as PyTorch (golden README item 7): y > 0 decides, so NaN inputs give 0 like the CPU.
template <typename T> __device__ void relu_fwd(const T* x, T* y, size_t n) {
    GRID_STRIDE(i, n) {
        const float v = to_f32(x[i]);
        y[i] = from_f32<T>(v > 0.0f ? v : 0.0f);
    }
}

template <typename T> __device__ void relu_bwd(const T* y, const T* dy, T* dx, size_t n) {
    GRID_STRIDE(i, n) { dx[i] = from_f32<T>(to_f32(y[i]) > 0.0f ? to_f32(dy[i]) : 0.0f); }
}

// expf, not __expf: the CPU twin computes 1/(1+exp(-x)) in f32 and selftest holds fp32 to 1e-5.
template <typename T> __device__ void sigmoid_fwd(const T* x, T* y, size_t n) {
    GRID_STRIDE(i, n) { y[i] = from_f32<T>(1.0f / (1.0f + expf(-to_f32(x[i])))); }
}

// Saves the forward output: dx = dy · y · (1 − y).
template <typename T> __device__ void sigmoid_bwd(const T* y, const T* dy, T* dx, size_t n) {
    GRID_STRIDE(i, n) {
        const float s = to_f32(y[i]);
        dx[i] = from_f32<T>(to_f32(dy[i]) * s * (1.0f - s));
    }
}

struct AddOp { __device__ float operator()(float a, float b) const { return a + b; } };
struct SubOp { __device__ float operator()(float a, float b) const { return a - b; } };
struct MulOp { __device__ float operator()(float a, float b) const { return a * b; } };

template <typename T, typename Op> __device__ void binary_fwd(const T* a, const T* b, T* y, size_t n) {
    const Op op;
    GRID_STRIDE(i, n) { y[i] = from_f32<T>(op(to_f32(a[i]), to_f32(b[i]))); }
}

template <typename T> __device__ void scale_fwd(const T* x, T* y, size_t n, float alpha) {
    GRID_STRIDE(i, n) { y[i] = from_f32<T>(alpha * to_f32(x[i])); }
}

template <typename T> __device__ void fill(T* y, size_t n, float value) {
    const T v = from_f32<T>(value);
    GRID_STRIDE(i, n) { y[i] = v; }
}

// x viewed [outer, channels, inner]: y = x + b[channel].
template <typename T>
__device__ void add_channel_fwd(const T* x, const T* b, T* y, size_t n, size_t channels, size_t inner) {
    GRID_STRIDE(i, n) { y[i] = from_f32<T>(to_f32(x[i]) + to_f32(b[(i / inner) % channels])); }
}

#define ELEMENTWISE_ENTRIES(T, S)                                                                  \
    extern "C" __global__ void relu_fwd_##S(const T* x, T* y, size_t n) { relu_fwd(x, y, n); }     \
    extern "C" __global__ void relu_bwd_##S(const T* y, const T* dy, T* dx, size_t n) {            \
        relu_bwd(y, dy, dx, n);                                                                    \
    }                                                                                              \
    extern "C" __global__ void sigmoid_fwd_##S(const T* x, T* y, size_t n) { sigmoid_fwd(x, y, n); } \
    extern "C" __global__ void sigmoid_bwd_##S(const T* y, const T* dy, T* dx, size_t n) {         \
        sigmoid_bwd(y, dy, dx, n);                                                                 \
    }                                                                                              \
    extern "C" __global__ void add_fwd_##S(const T* a, const T* b, T* y, size_t n) {               \
        binary_fwd<T, AddOp>(a, b, y, n);                                                          \
    }                                                                                              \
    extern "C" __global__ void sub_fwd_##S(const T* a, const T* b, T* y, size_t n) {               \
        binary_fwd<T, SubOp>(a, b, y, n);                                                          \
    }                                                                                              \
    extern "C" __global__ void mul_fwd_##S(const T* a, const T* b, T* y, size_t n) {               \
        binary_fwd<T, MulOp>(a, b, y, n);                                                          \
    }                                                                                              \
    extern "C" __global__ void scale_fwd_##S(const T* x, T* y, size_t n, float alpha) {            \
        scale_fwd(x, y, n, alpha);                                                                 \
    }                                                                                              \
    extern "C" __global__ void fill_##S(T* y, size_t n, float value) { fill(y, n, value); }        \
    extern "C" __global__ void add_channel_fwd_##S(const T* x, const T* b, T* y, size_t n,         \
                                                   size_t channels, size_t inner) {                \
        add_channel_fwd(x, b, y, n, channels, inner);                                              \
    }

ELEMENTWISE_ENTRIES(float, f32)
#ifdef LOFI_BF16
ELEMENTWISE_ENTRIES(__nv_bfloat16, bf16)
#endif
