// Optimizer updates, in place on the parameter (and momentum buffer or Adam moments). CPU twin:
// src/backend/cpu/optim.rs (PyTorch SGD semantics: dampening 0, no Nesterov, L2 weight decay).
//
//   sgd_update_<dt>           p ← p − lr·(g + wd·p)                      (momentum 0, the paper's)
//   sgd_momentum_update_<dt>  b ← m·b + (g + wd·p);  p ← p − lr·b         (b starts at zero)
//   adam_update_<dt>          d = g + wd·p;  m ← β1·m + (1 − β1)·d;  v ← β2·v + (1 − β2)·d²;
//                             p ← p − lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)   (PyTorch Adam, L2 wd;
//                             bc1 = 1 − β1^t and sqrt(bc2) = sqrt(1 − β2^t) come from the host, in f64)
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

template <typename T>
__device__ void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, size_t n, float lr, float beta1,
                            float beta2, float eps, float wd, float bc1, float bc2_sqrt) {
    GRID_STRIDE(i, n) {
        const float p = to_f32(param[i]);
        const float d = to_f32(grad[i]) + wd * p;
        const float m = beta1 * to_f32(exp_avg[i]) + (1.0f - beta1) * d;
        const float v = beta2 * to_f32(exp_avg_sq[i]) + (1.0f - beta2) * d * d;
        exp_avg[i] = from_f32<T>(m);
        exp_avg_sq[i] = from_f32<T>(v);
        // eps after the division by sqrt(bc2), as PyTorch and the CPU twin
        param[i] = from_f32<T>(p - lr / bc1 * m / (sqrtf(v) / bc2_sqrt + eps));
    }
}

#define OPTIM_ENTRIES(T, S)                                                                        \
    extern "C" __global__ void sgd_update_##S(T* param, const T* grad, size_t n, float lr, float wd) { \
        sgd_update(param, grad, n, lr, wd);                                                        \
    }                                                                                              \
    extern "C" __global__ void sgd_momentum_update_##S(T* param, const T* grad, T* buf, size_t n, float lr, \
                                                       float wd, float momentum) {                 \
        sgd_momentum_update(param, grad, buf, n, lr, wd, momentum);                                \
    }                                                                                              \
    extern "C" __global__ void adam_update_##S(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, size_t n, \
                                               float lr, float beta1, float beta2, float eps, float wd, \
                                               float bc1, float bc2_sqrt) {                        \
        adam_update(param, grad, exp_avg, exp_avg_sq, n, lr, beta1, beta2, eps, wd, bc1, bc2_sqrt); \
    }

OPTIM_ENTRIES(float, f32)
#ifdef LOFI_BF16
OPTIM_ENTRIES(__nv_bfloat16, bf16)
#endif
