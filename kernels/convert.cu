// Conversions: dtype casts and the u8 frame normalisation.
// CPU twins: `cast` and `normalize_frames` in src/backend/cpu/elementwise.rs.
//
//   cast_<src>_to_<dst>   y = x converted; the entry's suffix is the destination dtype and the stem
//                         names the source (cast_u8_to_bf16 reads u8). Floats round to nearest even
//                         once, like the twin (which goes through f64: exact for every source here).
//   normalize_frames      u8 frames [n, h, w, 3] → [n, 3, h, w]: (v/255 − mean[c]) / std[c], in f32
//                         with the twin's operation order, then one rounding to the output dtype.
#include "common.cuh"

__device__ __forceinline__ float to_f32(unsigned char x) { return (float)x; }

template <typename S, typename D> __device__ void cast(const S* x, D* y, size_t n) {
    GRID_STRIDE(i, n) { y[i] = from_f32<D>(to_f32(x[i])); }
}

// Channel statistics travel by value.
struct FrameNorm {
    float mean[3];
    float std[3];
};

template <typename T> __device__ void normalize_frames(const unsigned char* x, T* y, size_t n, size_t hw, FrameNorm nm) {
    GRID_STRIDE(i, n) {
        const size_t plane = i / hw;  // frame·3 + channel
        const size_t f = plane / 3, c = plane % 3, p = i % hw;
        const float v = (float)x[(f * hw + p) * 3 + c];
        y[i] = from_f32<T>((v / 255.0f - nm.mean[c]) / nm.std[c]);
    }
}

#define CAST_ENTRY(SRC, SRC_NAME, T, S)                                                            \
    extern "C" __global__ void cast_##SRC_NAME##_to_##S(const SRC* x, T* y, size_t n) { cast(x, y, n); }

#define CONVERT_ENTRIES(T, S)                                                                      \
    CAST_ENTRY(unsigned char, u8, T, S)                                                            \
    CAST_ENTRY(float, f32, T, S)                                                                   \
    extern "C" __global__ void normalize_frames_##S(const unsigned char* x, T* y, size_t n, size_t hw, \
                                                    FrameNorm nm) {                                \
        normalize_frames(x, y, n, hw, nm);                                                         \
    }

CONVERT_ENTRIES(float, f32)
#ifdef LOFI_BF16
CONVERT_ENTRIES(__nv_bfloat16, bf16)
CAST_ENTRY(__nv_bfloat16, bf16, float, f32)
CAST_ENTRY(__nv_bfloat16, bf16, __nv_bfloat16, bf16)
#endif
