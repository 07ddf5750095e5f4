// Losses: mean softmax cross-entropy and G-TAD's weighted binary cross-entropy, forward and
// backward. CPU twins: src/backend/cpu/loss.rs (which computes in f64; here f32 for every dtype).
// Gradient contract: the backward overwrites its gradient (`=`).
//
//   softmax_xent_fwd  probs[r] = softmax(logits[r]) and loss = mean_r(max + log Σ exp(l − max)
//                     − l[target[r]]). One block: warp w owns rows w, w + warps, …; lane 0 keeps
//                     its warp's running loss, and one block_sum makes the mean. A single block
//                     with a fixed row assignment, so the loss is deterministic (a loss has a few
//                     thousand rows; multi-block would need a workspace the contract does not give).
//   softmax_xent_bwd  dlogits = (probs − onehot(target)) · dloss / n, elementwise.
//   weighted_bce_fwd  loss = −mean(w1·t·log(p + eps) + w0·(1 − t)·log(1 − p + eps)): one block,
//                     per-thread f32 partial sums in a fixed stride, then block_sum.
//   weighted_bce_bwd  dp = −dloss/n · (w1·t/(p + eps) − w0·(1 − t)/(1 − p + eps)), elementwise.
//
// Targets were validated on the host (0 ≤ target < k) before the forward; the kernels still
// never dereference with an unchecked target (a bad one makes the loss NaN).
#include "common.cuh"

__device__ __forceinline__ float warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

template <typename T>
__device__ void softmax_xent_fwd(const T* logits, const long long* target, T* loss, T* probs, size_t n,
                                 size_t k) {
    const size_t lane = threadIdx.x % 32;
    const size_t warps = blockDim.x / 32;
    float acc = 0.0f;  // meaningful in lane 0 only
    for (size_t r = threadIdx.x / 32; r < n; r += warps) {
        const T* l = logits + r * k;
        float mx = -__int_as_float(0x7f800000);  // −∞ (NVRTC has no math.h macros)
        for (size_t j = lane; j < k; j += 32) mx = fmaxf(mx, to_f32(l[j]));
        mx = warp_max(mx);
        float sum = 0.0f;
        for (size_t j = lane; j < k; j += 32) sum += expf(to_f32(l[j]) - mx);
        sum = warp_sum(sum);
        for (size_t j = lane; j < k; j += 32) probs[r * k + j] = from_f32<T>(expf(to_f32(l[j]) - mx) / sum);
        if (lane == 0) {
            const long long t = target[r];
            acc += (t >= 0 && (size_t)t < k) ? mx + logf(sum) - to_f32(l[t]) : __int_as_float(0x7fffffff);
        }
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) loss[0] = from_f32<T>(acc / (float)(n > 0 ? n : 1));
}

template <typename T>
__device__ void softmax_xent_bwd(const T* probs, const long long* target, const T* dloss, T* dlogits, size_t n,
                                 size_t k) {
    const float g = to_f32(dloss[0]) / (float)(n > 0 ? n : 1);
    GRID_STRIDE(e, n * k) {
        const float onehot = target[e / k] == (long long)(e % k) ? 1.0f : 0.0f;
        dlogits[e] = from_f32<T>((to_f32(probs[e]) - onehot) * g);
    }
}

template <typename T>
__device__ void weighted_bce_fwd(const T* p, const T* t, T* loss, size_t n, float w1, float w0, float eps) {
    float acc = 0.0f;
    for (size_t i = threadIdx.x; i < n; i += blockDim.x) {
        const float pi = to_f32(p[i]), ti = to_f32(t[i]);
        acc += w1 * ti * logf(pi + eps) + w0 * (1.0f - ti) * logf(1.0f - pi + eps);
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) loss[0] = from_f32<T>(-acc / (float)(n > 0 ? n : 1));
}

template <typename T>
__device__ void weighted_bce_bwd(const T* p, const T* t, const T* dloss, T* dp, size_t n, float w1, float w0,
                                 float eps) {
    const float g = -to_f32(dloss[0]) / (float)(n > 0 ? n : 1);
    GRID_STRIDE(i, n) {
        const float pi = to_f32(p[i]), ti = to_f32(t[i]);
        dp[i] = from_f32<T>(g * (w1 * ti / (pi + eps) - w0 * (1.0f - ti) / (1.0f - pi + eps)));
    }
}

#define LOSS_ENTRIES(T, S)                                                                         \
    extern "C" __global__ void softmax_xent_fwd_##S(const T* logits, const long long* target, T* loss, \
                                                    T* probs, size_t n, size_t k) {                \
        softmax_xent_fwd(logits, target, loss, probs, n, k);                                       \
    }                                                                                              \
    extern "C" __global__ void softmax_xent_bwd_##S(const T* probs, const long long* target, const T* dloss, \
                                                    T* dlogits, size_t n, size_t k) {              \
        softmax_xent_bwd(probs, target, dloss, dlogits, n, k);                                     \
    }                                                                                              \
    extern "C" __global__ void weighted_bce_fwd_##S(const T* p, const T* t, T* loss, size_t n, float w1, \
                                                    float w0, float eps) {                         \
        weighted_bce_fwd(p, t, loss, n, w1, w0, eps);                                              \
    }                                                                                              \
    extern "C" __global__ void weighted_bce_bwd_##S(const T* p, const T* t, const T* dloss, T* dp, size_t n, \
                                                    float w1, float w0, float eps) {               \
        weighted_bce_bwd(p, t, dloss, dp, n, w1, w0, eps);                                         \
    }

LOSS_ENTRIES(float, f32)
#ifdef LOFI_BF16
LOSS_ENTRIES(__nv_bfloat16, bf16)
#endif
