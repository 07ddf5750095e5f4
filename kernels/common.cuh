// Shared kernel helpers: dtype conversions, the grid-stride loop, warp and block reductions.
//
// NVRTC-clean: only CUDA headers (NVRTC has no libc or STL), no <stdint.h>; sizes are size_t.
// The build script inlines this file into each kernel source it embeds for NVRTC; nothing here is
// an entry point, and every helper is inline (each module is compiled on its own).
//
// bf16 entry points are stamped only where __CUDA_ARCH__ >= 800 (LOFI_BF16): sm_80 is the first
// architecture with native bf16 arithmetic and conversions, and lofi's GPUs are all newer.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define LOFI_BF16 1
#endif

// ---- dtype helpers: every body computes in f32 and rounds once when it stores -----------------
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
// Round to nearest even, as half::bf16::from_f32 on the CPU side.
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}

// ---- indexing ---------------------------------------------------------------------------------
// Grid-stride loop with size_t indices: a full-fidelity batch can exceed 2^32 elements, where an
// unsigned index (candle's unary.cu) would wrap.
#define GRID_STRIDE(i, n)                                                                          \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n);                \
         i += (size_t)blockDim.x * gridDim.x)

// ---- reductions (f32 accumulators for every dtype) --------------------------------------------
__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Sum over the block: shuffle within each warp, one shared slot per warp, then a final shuffle in
// the first warp. Every thread of the block must call it; the result is valid in thread 0. Ends
// with a barrier so the caller may call it again in a loop (the shared slots are reused).
__device__ inline float block_sum(float v) {
    __shared__ float partial[32];
    const int lane = threadIdx.x % 32;
    const int warp = threadIdx.x / 32;
    const int warps = (blockDim.x + 31) / 32;
    v = warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = (threadIdx.x < warps) ? partial[lane] : 0.0f;
    if (warp == 0) v = warp_sum(v);
    __syncthreads();
    return v;
}
