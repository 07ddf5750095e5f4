// Batch norm over (N, H, W) per channel; x viewed [n, c, hw]. CPU twin: src/backend/cpu/norm.rs.
//
//   bn_fwd_train       one block per channel (grid-stride over channels): the mean, then the biased
//                      variance as the mean of squared deviations (two passes, f32 block sums), then
//                      y = (x − mean)·gamma/sqrt(var + eps) + beta with the f32 statistics; writes
//                      mean and var (f32).
//   bn_fwd_stats       the same normalisation with given statistics: one thread per element.
//   bn_bwd_train       one block per channel: Σdy and Σdy·x̂, then dgamma = Σdy·x̂, dbeta = Σdy and
//                      dx = gamma/sqrt(var + eps)·(dy − Σdy/m − x̂·Σdy·x̂/m), m = n·hw.
//   bn_bwd_stats       fixed statistics: the same sums for dgamma/dbeta, dx = gamma/sqrt(var + eps)·dy.
//   bn_update_running  running ← (1 − momentum)·running + momentum·batch, the variance scaled by
//                      `unbias` = count/(count − 1) (computed on the host).
// Gradient contract: dx, dgamma and dbeta are overwritten (`=`); the tape accumulates.
// Precision (the bf16 policy): x, y, dy and dx are T; gamma, beta, the batch and running
// statistics and dgamma/dbeta are f32 for every T — BN statistics are never rounded to bf16.
// The twin accumulates in f64; here every sum is f32 (block reductions), within selftest's 1e-5.
#include "common.cuh"

// Σ over the channel's n planes of f(idx) for this block's threads; the block total, broadcast to
// every thread through shared memory.
template <typename F> __device__ float channel_sum(size_t n, size_t c, size_t hw, size_t ch, F f) {
    __shared__ float total;
    float acc = 0.0f;
    for (size_t i = 0; i < n; ++i) {
        const size_t base = (i * c + ch) * hw;
        for (size_t p = threadIdx.x; p < hw; p += blockDim.x) acc += f(base + p);
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) total = acc;
    __syncthreads();
    const float t = total;
    __syncthreads();  // `total` is rewritten by the next call
    return t;
}

template <typename T>
__device__ void bn_fwd_train(const T* x, const float* gamma, const float* beta, T* y, float* mean, float* var,
                             size_t n, size_t c, size_t hw, float eps) {
    const float m = (float)(n * hw);
    for (size_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
        const float mu = channel_sum(n, c, hw, ch, [&](size_t j) { return to_f32(x[j]); }) / m;
        const float s2 = channel_sum(n, c, hw, ch, [&](size_t j) {
                             const float d = to_f32(x[j]) - mu;
                             return d * d;
                         }) / m;
        if (threadIdx.x == 0) {
            mean[ch] = mu;
            var[ch] = s2;
        }
        const float k = gamma[ch] / sqrtf(s2 + eps);
        const float b = beta[ch];
        for (size_t i = 0; i < n; ++i) {
            const size_t base = (i * c + ch) * hw;
            for (size_t p = threadIdx.x; p < hw; p += blockDim.x) y[base + p] = from_f32<T>((to_f32(x[base + p]) - mu) * k + b);
        }
    }
}

template <typename T>
__device__ void bn_fwd_stats(const T* x, const float* gamma, const float* beta, T* y, const float* mean,
                             const float* var, size_t n, size_t c, size_t hw, float eps) {
    GRID_STRIDE(i, n * c * hw) {
        const size_t ch = (i / hw) % c;
        const float k = gamma[ch] / sqrtf(var[ch] + eps);
        y[i] = from_f32<T>((to_f32(x[i]) - mean[ch]) * k + beta[ch]);
    }
}

template <typename T>
__device__ void bn_bwd(const T* x, const T* dy, const float* gamma, const float* mean, const float* var, T* dx,
                       float* dgamma, float* dbeta, size_t n, size_t c, size_t hw, float eps, bool batch_stats) {
    const float m = (float)(n * hw);
    for (size_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
        const float mu = mean[ch];
        const float inv = 1.0f / sqrtf(var[ch] + eps);
        const float sdy = channel_sum(n, c, hw, ch, [&](size_t j) { return to_f32(dy[j]); });
        const float sdyx = channel_sum(n, c, hw, ch, [&](size_t j) { return to_f32(dy[j]) * (to_f32(x[j]) - mu); }) * inv;
        if (threadIdx.x == 0) {
            dgamma[ch] = sdyx;
            dbeta[ch] = sdy;
        }
        const float k = gamma[ch] * inv;
        for (size_t i = 0; i < n; ++i) {
            const size_t base = (i * c + ch) * hw;
            for (size_t p = threadIdx.x; p < hw; p += blockDim.x) {
                const float g = to_f32(dy[base + p]);
                float d = k * g;
                if (batch_stats) {
                    const float xhat = (to_f32(x[base + p]) - mu) * inv;
                    d = k * (g - sdy / m - xhat * sdyx / m);
                }
                dx[base + p] = from_f32<T>(d);
            }
        }
    }
}

template <typename T>
__device__ void bn_update_running(const T* mean, const T* var, T* running_mean, T* running_var, size_t c,
                                  float momentum, float unbias) {
    GRID_STRIDE(ch, c) {
        running_mean[ch] = from_f32<T>((1.0f - momentum) * to_f32(running_mean[ch]) + momentum * to_f32(mean[ch]));
        running_var[ch] =
            from_f32<T>((1.0f - momentum) * to_f32(running_var[ch]) + momentum * to_f32(var[ch]) * unbias);
    }
}

#define NORM_ENTRIES(T, S)                                                                         \
    extern "C" __global__ void bn_fwd_train_##S(const T* x, const float* gamma, const float* beta, T* y,  \
                                                float* mean, float* var, size_t n, size_t c, size_t hw,    \
                                                float eps) {                                       \
        bn_fwd_train(x, gamma, beta, y, mean, var, n, c, hw, eps);                                 \
    }                                                                                              \
    extern "C" __global__ void bn_fwd_stats_##S(const T* x, const float* gamma, const float* beta, T* y,  \
                                                const float* mean, const float* var, size_t n, size_t c,   \
                                                size_t hw, float eps) {                            \
        bn_fwd_stats(x, gamma, beta, y, mean, var, n, c, hw, eps);                                 \
    }                                                                                              \
    extern "C" __global__ void bn_bwd_train_##S(const T* x, const T* dy, const float* gamma, const float* mean, \
                                                const float* var, T* dx, float* dgamma, float* dbeta,      \
                                                size_t n, size_t c, size_t hw, float eps) {        \
        bn_bwd(x, dy, gamma, mean, var, dx, dgamma, dbeta, n, c, hw, eps, true);                   \
    }                                                                                              \
    extern "C" __global__ void bn_bwd_stats_##S(const T* x, const T* dy, const float* gamma, const float* mean, \
                                                const float* var, T* dx, float* dgamma, float* dbeta,      \
                                                size_t n, size_t c, size_t hw, float eps) {        \
        bn_bwd(x, dy, gamma, mean, var, dx, dgamma, dbeta, n, c, hw, eps, false);                  \
    }                                                                                              \
    /* The running update reads and writes statistics only: T is theirs (f32 under the policy). */ \
    extern "C" __global__ void bn_update_running_##S(const T* mean, const T* var, T* running_mean,  \
                                                     T* running_var, size_t c, float momentum, float unbias) { \
        bn_update_running(mean, var, running_mean, running_var, c, momentum, unbias);              \
    }

NORM_ENTRIES(float, f32)
#ifdef LOFI_BF16
NORM_ENTRIES(__nv_bfloat16, bf16)
#endif
