// Gather along an axis and its adjoint, the scatter-add: x viewed [outer, n, inner], idx an i64
// list of length m. CPU twins: gather_axis and scatter_add_axis in src/backend/cpu/layout.rs.
// Gradient contract: scatter_add_axis_fwd overwrites dx (`=`; it zeroes what no index reaches).
//
//   gather_axis_fwd       y[o, j, i] = x[o, idx[j], i]; one thread per output.
//   scatter_plan_fwd      the inverse of idx as a stable bucket list (CSR), built by one block in
//                         O(n + m): work[0..n) = end of bucket d in `order` (bucket d starts at
//                         work[d − 1], or 0), work[n..n + m) = the j with idx[j] = d, ascending j
//                         within each bucket, work[n + m] = 1 when some index is outside 0..n.
//   scatter_add_axis_fwd  dx[o, d, i] = Σ_{j : idx[j] = d} dy[o, j, i], summed over bucket d in j
//                         order, as the twin does: one thread per dx element, no atomics on
//                         floats, deterministic; O(outer · inner · (n + m)) in all (the former
//                         kernel scanned all m indices for every element: O(n · m)).
//
// The plan uses integer atomics only to count bucket sizes (order-independent). Placement is
// stable without atomics: indices are taken 1024 at a time, each thread's rank among equal
// indices of its tile is counted in shared memory, and the last thread of each key in the tile
// advances the bucket's cursor. Cursors start at the bucket starts and end at the bucket ends,
// which is what work[0..n) keeps.
//
// Index guard: an index outside 0..n is never dereferenced. The gather writes NaN where it would
// have read; the scatter writes NaN to every element when the plan saw a bad index, so a bad
// index fails loudly instead of corrupting memory or dropping a gradient.
#include "common.cuh"

#define LOFI_NAN __int_as_float(0x7fffffff)

template <typename T>
__device__ void gather_axis_fwd(const T* x, const long long* idx, T* y, size_t outer, size_t n, size_t m,
                                size_t inner) {
    GRID_STRIDE(e, outer * m * inner) {
        const size_t i = e % inner;
        const size_t j = (e / inner) % m;
        const size_t o = e / (inner * m);
        const long long src = idx[j];
        y[e] = (src >= 0 && (size_t)src < n) ? x[(o * n + (size_t)src) * inner + i] : from_f32<T>(LOFI_NAN);
    }
}

#define PLAN_THREADS 1024

// One block of PLAN_THREADS threads; `work` holds n + m + 1 long longs (see the header).
__device__ void scatter_plan_fwd(const long long* idx, long long* work, size_t n, size_t m) {
    __shared__ long long keys[PLAN_THREADS];
    __shared__ unsigned long long chunk_sums[PLAN_THREADS];
    __shared__ int bad;
    long long* ends = work;          // counts, then inclusive sums, then cursors = bucket ends
    long long* order = work + n;
    const size_t t = threadIdx.x;
    if (t == 0) bad = 0;
    for (size_t d = t; d < n; d += PLAN_THREADS) ends[d] = 0;
    __syncthreads();
    // 1. Bucket sizes (integer atomics: the counts do not depend on their order).
    for (size_t j = t; j < m; j += PLAN_THREADS) {
        const long long d = idx[j];
        if (d >= 0 && (size_t)d < n) {
            atomicAdd((unsigned long long*)&ends[d], 1ull);
        } else {
            bad = 1;
        }
    }
    __syncthreads();
    // 2. Exclusive scan: ends[d] = start of bucket d (each thread scans one contiguous chunk,
    //    then the chunk totals are scanned by thread 0).
    const size_t chunk = (n + PLAN_THREADS - 1) / PLAN_THREADS;
    const size_t lo = t * chunk < n ? t * chunk : n;
    const size_t hi = lo + chunk < n ? lo + chunk : n;
    unsigned long long running = 0;
    for (size_t d = lo; d < hi; ++d) {
        const unsigned long long c = (unsigned long long)ends[d];
        ends[d] = (long long)running;
        running += c;
    }
    chunk_sums[t] = running;
    __syncthreads();
    if (t == 0) {
        unsigned long long acc = 0;
        for (size_t k = 0; k < PLAN_THREADS; ++k) {
            const unsigned long long c = chunk_sums[k];
            chunk_sums[k] = acc;
            acc += c;
        }
    }
    __syncthreads();
    for (size_t d = lo; d < hi; ++d) ends[d] += (long long)chunk_sums[t];
    __syncthreads();
    // 3. Stable placement, one tile of PLAN_THREADS indices at a time.
    for (size_t base = 0; base < m; base += PLAN_THREADS) {
        const size_t j = base + t;
        const size_t tile = m - base < PLAN_THREADS ? m - base : PLAN_THREADS;
        long long key = -1;
        if (j < m) {
            const long long d = idx[j];
            key = (d >= 0 && (size_t)d < n) ? d : -1;
        }
        keys[t] = key;
        __syncthreads();
        long long cursor = 0;
        size_t rank = 0;
        bool last = true;
        if (key >= 0) {
            for (size_t k = 0; k < t; ++k) rank += keys[k] == key;
            for (size_t k = t + 1; k < tile; ++k) last = last && keys[k] != key;
            cursor = ends[key];
        }
        __syncthreads();  // every cursor is read before any is advanced
        if (key >= 0) {
            order[cursor + (long long)rank] = (long long)j;
            if (last) ends[key] = cursor + (long long)rank + 1;
        }
        __syncthreads();
    }
    if (t == 0) work[n + m] = bad;
}

template <typename T>
__device__ void scatter_add_axis_fwd(const T* dy, const long long* work, T* dx, size_t outer, size_t n, size_t m,
                                     size_t inner) {
    const long long* ends = work;
    const long long* order = work + n;
    const bool bad = work[n + m] != 0;
    GRID_STRIDE(e, outer * n * inner) {
        const size_t i = e % inner;
        const size_t d = (e / inner) % n;
        const size_t o = e / (inner * n);
        float acc = 0.0f;
        const long long start = d == 0 ? 0 : ends[d - 1];
        for (long long k = start; k < ends[d]; ++k) acc += to_f32(dy[(o * m + (size_t)order[k]) * inner + i]);
        dx[e] = from_f32<T>(bad ? LOFI_NAN : acc);
    }
}

#define GATHER_ENTRIES(T, S)                                                                       \
    extern "C" __global__ void gather_axis_fwd_##S(const T* x, const long long* idx, T* y, size_t outer, \
                                                   size_t n, size_t m, size_t inner) {             \
        gather_axis_fwd(x, idx, y, outer, n, m, inner);                                            \
    }                                                                                              \
    extern "C" __global__ void scatter_plan_fwd_##S(const long long* idx, long long* work, size_t n,  \
                                                    size_t m) {                                    \
        scatter_plan_fwd(idx, work, n, m);                                                         \
    }                                                                                              \
    extern "C" __global__ void scatter_add_axis_fwd_##S(const T* dy, const long long* work, T* dx, \
                                                        size_t outer, size_t n, size_t m, size_t inner) { \
        scatter_add_axis_fwd(dy, work, dx, outer, n, m, inner);                                    \
    }

GATHER_ENTRIES(float, f32)
#ifdef LOFI_BF16
GATHER_ENTRIES(__nv_bfloat16, bf16)
#endif
