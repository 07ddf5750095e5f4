// Convolution data movement around the cuBLAS GEMMs (src/backend/cuda/conv.rs runs the GEMMs).
// CPU twin: src/backend/cpu/conv.rs, with the same workspace layout (ConvGeom::workspace_elems):
// col = [col_rows, nc·P] with the chunk's images side by side along columns (P = ho·wo), then
// stage = [c_out/groups, nc·P] in the same column order. Every kernel handles images n0..n0+nc of
// group `grp`, one thread per element it writes (grid-stride), so nothing needs atomics.
//
//   im2col      col[r, j·P + p] = x[n0 + j, grp·cpg + r/(kh·kw), iy, ix], zero in the padding.
//   col2im      dx[n0 + j, grp·cpg + ci, iy, ix] = Σ over the taps (ky, kx) that read this input of
//               col[(ci·kh + ky)·kw + kx, j·P + oy·wo + ox]: a gather, one thread per input element,
//               summing in the twin's tap order (ky, then kx). Overwrites (`=`) dx of the chunk's
//               group channels, as the twin; the other groups' channels are written by their calls.
//   to_stage    stage[co, j·P + p] = nchw[n0 + j, grp·cg + co, p] (dy into GEMM layout).
//   from_stage  the inverse (the GEMM's output back to NCHW).
#include "common.cuh"

// ConvGeom's fields the kernels index with (mirrors ConvDims in conv.rs, all size_t).
struct ConvDims {
    size_t c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, groups, ho, wo;
};

template <typename T> __device__ void im2col(const T* x, T* col, ConvDims g, size_t n0, size_t nc, size_t grp) {
    const size_t P = g.ho * g.wo;
    const size_t cols = nc * P;
    const size_t cpg = g.c_in / g.groups;
    const size_t rows = cpg * g.kh * g.kw;
    GRID_STRIDE(i, rows * cols) {
        const size_t r = i / cols, c = i % cols;
        const size_t j = c / P, p = c % P;
        const size_t oy = p / g.wo, ox = p % g.wo;
        const size_t kx = r % g.kw, ky = (r / g.kw) % g.kh, ci = grp * cpg + r / (g.kw * g.kh);
        const long long iy = (long long)(oy * g.sh + ky) - (long long)g.ph;
        const long long ix = (long long)(ox * g.sw + kx) - (long long)g.pw;
        T out = from_f32<T>(0.0f);
        if (iy >= 0 && iy < (long long)g.h && ix >= 0 && ix < (long long)g.w) {
            out = x[((n0 + j) * g.c_in + ci) * g.h * g.w + (size_t)iy * g.w + (size_t)ix];
        }
        col[i] = out;
    }
}

template <typename T> __device__ void col2im(const T* col, T* dx, ConvDims g, size_t n0, size_t nc, size_t grp) {
    const size_t P = g.ho * g.wo;
    const size_t cols = nc * P;
    const size_t cpg = g.c_in / g.groups;
    const size_t hw = g.h * g.w;
    GRID_STRIDE(i, nc * cpg * hw) {
        const size_t j = i / (cpg * hw);
        const size_t ci = (i / hw) % cpg;
        const size_t iy = (i % hw) / g.w, ix = i % g.w;
        float acc = 0.0f;
        for (size_t ky = 0; ky < g.kh; ++ky) {
            // oy·sh = iy + ph − ky, in [0, ho)
            const long long ty = (long long)(iy + g.ph) - (long long)ky;
            if (ty < 0 || ty % (long long)g.sh != 0) continue;
            const size_t oy = (size_t)ty / g.sh;
            if (oy >= g.ho) continue;
            for (size_t kx = 0; kx < g.kw; ++kx) {
                const long long tx = (long long)(ix + g.pw) - (long long)kx;
                if (tx < 0 || tx % (long long)g.sw != 0) continue;
                const size_t ox = (size_t)tx / g.sw;
                if (ox >= g.wo) continue;
                const size_t r = (ci * g.kh + ky) * g.kw + kx;
                acc += to_f32(col[r * cols + j * P + oy * g.wo + ox]);
            }
        }
        dx[((n0 + j) * g.c_in + grp * cpg + ci) * hw + iy * g.w + ix] = from_f32<T>(acc);
    }
}

template <typename T> __device__ void to_stage(const T* nchw, T* stage, ConvDims g, size_t n0, size_t nc, size_t grp) {
    const size_t P = g.ho * g.wo;
    const size_t cols = nc * P;
    const size_t cg = g.c_out / g.groups;
    GRID_STRIDE(i, cg * cols) {
        const size_t co = i / cols, j = (i % cols) / P, p = i % P;
        stage[i] = nchw[((n0 + j) * g.c_out + grp * cg + co) * P + p];
    }
}

template <typename T> __device__ void from_stage(const T* stage, T* nchw, ConvDims g, size_t n0, size_t nc, size_t grp) {
    const size_t P = g.ho * g.wo;
    const size_t cols = nc * P;
    const size_t cg = g.c_out / g.groups;
    GRID_STRIDE(i, cg * cols) {
        const size_t co = i / cols, j = (i % cols) / P, p = i % P;
        nchw[((n0 + j) * g.c_out + grp * cg + co) * P + p] = stage[i];
    }
}

#define CONV_ENTRY(NAME, T, S)                                                                     \
    extern "C" __global__ void NAME##_##S(const T* src, T* dst, ConvDims g, size_t n0, size_t nc, size_t grp) { \
        NAME(src, dst, g, n0, nc, grp);                                                            \
    }

#define CONV_ENTRIES(T, S)                                                                         \
    CONV_ENTRY(im2col, T, S)                                                                       \
    CONV_ENTRY(col2im, T, S)                                                                       \
    CONV_ENTRY(to_stage, T, S)                                                                     \
    CONV_ENTRY(from_stage, T, S)

CONV_ENTRIES(float, f32)
#ifdef LOFI_BF16
CONV_ENTRIES(__nv_bfloat16, bf16)
#endif
