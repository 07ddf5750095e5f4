// G-TAD graph kernels (SPEC §b): the kNN score and top-k, the neighbour gather of
// get_graph_feature (styles 1 and 2) and its adjoint, the max over the last axis.
// CPU twins: src/backend/cpu/graph.rs. Gradient contract: every *_bwd overwrites dx (`=`).
//
//   knn_score_fwd        score[b,i,j] = (2·gram[b,i,j] − sq[b,j]) − sq[b,i], sq = Σ_c x² summed
//                        over c in order; one thread per score, rounded like the CPU (no FMA).
//   knn_topk_fwd         idx (i64) [B, L, k]: the k largest scores of each row, descending, lower
//                        index first on ties, in the total order of f64::total_cmp (−0 < +0, NaN
//                        ranked by sign). One thread per row, k selection passes over the row.
//   graph_gather_fwd     y [B, C', L, k]: neighbour part x[b,c,idx[b,i,n]], self part x[b,c,i].
//   graph_gather_bwd     the adjoint as a gather: one thread per dx[b,c,j] sums, in the CPU's
//                        (i, n) order, every dy whose neighbour is j, then its self terms. No
//                        atomics, so the sums are deterministic; O(L·k) reads per element.
//   max_lastdim_fwd/bwd  first maximum (strict '>') over the last axis, gradient routed to it.
//
// Index guard: an index outside 0..L is never dereferenced. The forward writes NaN where it would
// have read; the backward writes NaN to every element whose scan met one. knn_topk produces the
// indices on the device, so they are in range by construction; the NaN makes a bad index from
// elsewhere fail loudly instead of corrupting memory.
#include "common.cuh"

#define LOFI_NAN __int_as_float(0x7fffffff)

template <typename T>
__device__ void knn_score_fwd(const T* x, const T* gram, T* score, size_t batch, size_t c, size_t l) {
    GRID_STRIDE(e, batch * l * l) {
        const size_t j = e % l;
        const size_t i = (e / l) % l;
        const size_t b = e / (l * l);
        const T* xb = x + b * c * l;
        float sq_i = 0.0f, sq_j = 0.0f;
        for (size_t ch = 0; ch < c; ++ch) {
            const float vi = to_f32(xb[ch * l + i]);
            const float vj = to_f32(xb[ch * l + j]);
            sq_i = __fadd_rn(sq_i, __fmul_rn(vi, vi));
            sq_j = __fadd_rn(sq_j, __fmul_rn(vj, vj));
        }
        const float g = to_f32(gram[e]);
        score[e] = from_f32<T>(__fsub_rn(__fsub_rn(__fmul_rn(2.0f, g), sq_j), sq_i));
    }
}

// A key whose signed integer order is f32's total order (Rust's total_cmp).
__device__ __forceinline__ int total_key(float v) {
    const int bits = __float_as_int(v);
    return bits ^ (int)(((unsigned)(bits >> 31)) >> 1);
}

template <typename T>
__device__ void knn_topk_fwd(const T* score, long long* idx, size_t rows, size_t l, size_t k) {
    GRID_STRIDE(row, rows) {
        const T* s = score + row * l;
        long long* out = idx + row * k;
        // (prev_key, prev_j): the last pick; the next pick is the best entry ranked after it.
        int prev_key = 0;
        size_t prev_j = 0;
        for (size_t n = 0; n < k; ++n) {
            bool found = false;
            int best_key = 0;
            size_t best_j = 0;
            for (size_t j = 0; j < l; ++j) {
                const int key = total_key(to_f32(s[j]));
                const bool after = n == 0 || key < prev_key || (key == prev_key && j > prev_j);
                // Strict '>' keeps the lowest index among equal keys.
                if (after && (!found || key > best_key)) {
                    found = true;
                    best_key = key;
                    best_j = j;
                }
            }
            out[n] = found ? (long long)best_j : -1;
            prev_key = best_key;
            prev_j = best_j;
        }
    }
}

template <typename T>
__device__ void graph_gather_fwd(const T* x, const long long* idx, T* y, size_t batch, size_t c, size_t l,
                                 size_t k, int with_self) {
    const size_t c_out = with_self ? 2 * c : c;
    GRID_STRIDE(e, batch * c_out * l * k) {
        const size_t n = e % k;
        const size_t i = (e / k) % l;
        const size_t co = (e / (k * l)) % c_out;
        const size_t b = e / (k * l * c_out);
        if (co < c) {
            const long long j = idx[(b * l + i) * k + n];
            y[e] = (j >= 0 && (size_t)j < l) ? x[(b * c + co) * l + (size_t)j] : from_f32<T>(LOFI_NAN);
        } else {
            y[e] = x[(b * c + co - c) * l + i];
        }
    }
}

template <typename T>
__device__ void graph_gather_bwd(const T* dy, const long long* idx, T* dx, size_t batch, size_t c, size_t l,
                                 size_t k, int with_self) {
    const size_t c_out = with_self ? 2 * c : c;
    const size_t plane = l * k;
    GRID_STRIDE(e, batch * c * l) {
        const size_t j = e % l;
        const size_t ch = (e / l) % c;
        const size_t b = e / (l * c);
        const long long* ib = idx + b * plane;
        const T* g = dy + (b * c_out + ch) * plane;
        float acc = 0.0f;
        bool bad = false;
        for (size_t q = 0; q < plane; ++q) {
            const long long t = ib[q];
            bad |= t < 0 || (size_t)t >= l;
            if (t == (long long)j) acc += to_f32(g[q]);
        }
        if (with_self) {
            const T* gs = dy + (b * c_out + c + ch) * plane + j * k;
            for (size_t n = 0; n < k; ++n) acc += to_f32(gs[n]);
        }
        dx[e] = from_f32<T>(bad ? LOFI_NAN : acc);
    }
}

template <typename T>
__device__ void max_lastdim_fwd(const T* x, T* y, long long* argmax, size_t rows, size_t k) {
    GRID_STRIDE(r, rows) {
        const T* row = x + r * k;
        size_t at = 0;
        float best = to_f32(row[0]);
        for (size_t n = 1; n < k; ++n) {
            const float v = to_f32(row[n]);
            if (v > best) {
                best = v;
                at = n;
            }
        }
        y[r] = row[at];
        argmax[r] = (long long)at;
    }
}

template <typename T>
__device__ void max_lastdim_bwd(const T* dy, const long long* argmax, T* dx, size_t rows, size_t k) {
    GRID_STRIDE(e, rows * k) {
        const size_t r = e / k;
        dx[e] = argmax[r] == (long long)(e % k) ? dy[r] : from_f32<T>(0.0f);
    }
}

#define GRAPH_ENTRIES(T, S)                                                                        \
    extern "C" __global__ void knn_score_fwd_##S(const T* x, const T* gram, T* score, size_t batch, \
                                                 size_t c, size_t l) {                             \
        knn_score_fwd(x, gram, score, batch, c, l);                                                \
    }                                                                                              \
    extern "C" __global__ void knn_topk_fwd_##S(const T* score, long long* idx, size_t rows, size_t l, \
                                                size_t k) {                                        \
        knn_topk_fwd(score, idx, rows, l, k);                                                      \
    }                                                                                              \
    extern "C" __global__ void graph_gather_fwd_##S(const T* x, const long long* idx, T* y, size_t batch, \
                                                    size_t c, size_t l, size_t k, int with_self) { \
        graph_gather_fwd(x, idx, y, batch, c, l, k, with_self);                                    \
    }                                                                                              \
    extern "C" __global__ void graph_gather_bwd_##S(const T* dy, const long long* idx, T* dx, size_t batch, \
                                                    size_t c, size_t l, size_t k, int with_self) { \
        graph_gather_bwd(dy, idx, dx, batch, c, l, k, with_self);                                  \
    }                                                                                              \
    extern "C" __global__ void max_lastdim_fwd_##S(const T* x, T* y, long long* argmax, size_t rows, \
                                                   size_t k) {                                     \
        max_lastdim_fwd(x, y, argmax, rows, k);                                                    \
    }                                                                                              \
    extern "C" __global__ void max_lastdim_bwd_##S(const T* dy, const long long* argmax, T* dx,    \
                                                   size_t rows, size_t k) {                        \
        max_lastdim_bwd(dy, argmax, dx, rows, k);                                                  \
    }

GRAPH_ENTRIES(float, f32)
#ifdef LOFI_BF16
GRAPH_ENTRIES(__nv_bfloat16, bf16)
#endif
