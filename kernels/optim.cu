// Optimizer updates, in place on the parameter (and momentum buffer). CPU twin:
// src/backend/cpu/optim.rs (PyTorch SGD semantics: dampening 0, no Nesterov, L2 weight decay).
//
//   sgd_update_<dt>           p ← p − lr·(g + wd·p)                      (momentum 0, the paper's)
//   sgd_momentum_update_<dt>  b ← m·b + (g + wd·p);  p ← p − lr·b         (b starts at zero)
//
// Math in f32, one rounding per stored value; the CPU twin uses f64, which selftest's 1e-5 fp32
// tolerance covers. Entry points carry no fwd/bwd: an update is not half of a differentiable pair.
#include "common.cuh"

template <typename T> __device__ void sgd_update(T* param, const T* grad, size_t n, float lr, float wd) {
    GRID_STRIDE(i, n) {
        const float p = to_f32(param[i]);
        param[i] = from_f32<T>(p - lr * (to_f32(grad[i]) + wd * p));
    }
}

template <typename T>
__device__ void sgd_momentum_update(T* param, const T* grad, T* buf, size_t n, float lr, float wd, float momentum) {
    GRID_STRIDE(i, n) {
        const float p = to_f32(param[i]);
        const float d = to_f32(grad[i]) + wd * p;  // the same grouping as the CPU twin
        const float b = momentum * to_f32(buf[i]) + d;
        buf[i] = from_f32<T>(b);
        param[i] = from_f32<T>(p - lr * b);
    }
}

#define OPTIM_ENTRIES(T, S)                                                                        \
    extern "C" __global__ void sgd_update_##S(T* param, const T* grad, size_t n, float lr, float wd) { \
        sgd_update(param, grad, n, lr, wd);                                                        \
    }                                                                                              \
    extern "C" __global__ void sgd_momentum_update_##S(T* param, const T* grad, T* buf, size_t n, float lr, \
                                                       float wd, float momentum) {                 \
        sgd_momentum_update(param, grad, buf, n, lr, wd, momentum);                                \
    }

OPTIM_ENTRIES(float, f32)
#ifdef LOFI_BF16
OPTIM_ENTRIES(__nv_bfloat16, bf16)
#endif
