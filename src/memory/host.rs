//! Host allocator tuning for training loops. Every step allocates and frees the same large
//! activation buffers; glibc by default serves blocks above its mmap threshold with fresh `mmap`s
//! and returns them with `munmap`, so every step pays page faults and kernel page zeroing again
//! (measured: ~20% of a CPU training step of the tiny encoder in kernel page-fault code, and the
//! step ran ~2× faster without it). Raising the mmap and trim thresholds keeps freed blocks in
//! the heap for reuse. The pool's accounting is unaffected: it counts tensors, not the allocator's
//! cache.

/// Keeps large freed blocks in the process heap for reuse (glibc only; a no-op elsewhere).
/// Call once at start-up, before the first large allocation.
pub fn keep_freed_memory_for_reuse() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; the values are within the accepted range
    // (int), and it is called before threads allocate concurrently in the binary's main.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

// --- Recycled CPU tensor buffers -------------------------------------------------------------
//
// A training step allocates the same buffers every step. Even with freed blocks kept in the heap,
// `calloc` must zero a recycled block, and zeroing was the largest single cost of a small CPU step
// after the convolutions (12–20% of a step, `lofi bench step --profile`). So CPU tensor storage is
// recycled here by exact size: a new tensor whose kernel overwrites every element (`Tensor::empty`)
// takes a cached buffer as it is; `Tensor::zeros` takes one and zeroes it.
//
// The cache is bounded by the tensors' own high-water mark: a buffer enters it only when its
// tensor is freed, and a request the cache cannot serve frees (largest first) just enough cached
// buffers that live + cached bytes stay within 3× the largest live total so far (`limit_words`).
// A steady training step, whose sizes repeat, is then served from the cache. The process may so
// hold up to twice a step's peak in idle buffers: host memory, which CPU training has plenty of;
// the budget the pool enforces counts live tensors, as on every device.
//
// A buffer that does not come from the cache is filled with all-ones bits (NaN as f32/f64): a
// kernel that reads an `empty` output before writing it then shows NaN in the first test that
// runs it, instead of silently depending on zeros.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static CACHE_ON: AtomicBool = AtomicBool::new(true);

/// Switches the buffer cache on (the default) or off; off, it frees what it holds, and buffers are
/// allocated and freed one by one (the heap then holds exactly the live tensors: the memory
/// tests compare that with the pool).
pub fn set_buffer_cache(on: bool) {
    CACHE_ON.store(on, Ordering::SeqCst);
    if !on {
        let dropped = {
            let mut c = cache();
            let all = c.evict_at_least(usize::MAX);
            c.live_words = 0;
            c.max_live_words = 0;
            all
        };
        drop(dropped);
    }
}

/// Cached buffers of one length, each with the sequence number of its return.
type SizeLists = HashMap<usize, Vec<(u64, Vec<u64>)>>;

struct BufferCache {
    /// Free buffers by length in u64 words, each with the sequence number of its return (each
    /// list in increasing order).
    by_words: Option<SizeLists>,
    /// Sequence number → length of every cached buffer: the eviction order.
    order: BTreeMap<u64, usize>,
    next_seq: u64,
    cached_words: usize,
    /// Words in buffers handed out and not yet given back, and the most there ever were.
    live_words: usize,
    max_live_words: usize,
}

static CACHE: Mutex<BufferCache> = Mutex::new(BufferCache::new());

fn cache() -> std::sync::MutexGuard<'static, BufferCache> {
    // Plain vectors and counters: a panic elsewhere cannot leave them inconsistent.
    CACHE.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a new buffer holds before its owner writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Every byte zero.
    Zeros,
    /// Anything: the caller overwrites every element (poisoned with all-ones bits when fresh).
    Overwritten,
}

/// A buffer of exactly `words` u64 words, from the cache when one of that size is free.
pub fn take_buffer(words: usize, fill: Fill) -> Vec<u64> {
    if !CACHE_ON.load(Ordering::Relaxed) {
        return match fill {
            Fill::Zeros => vec![0u64; words],
            Fill::Overwritten => vec![u64::MAX; words],
        };
    }
    let (hit, evicted) = cache().take(words);
    // Freed outside the lock.
    drop(evicted);
    match (hit, fill) {
        (Some(mut v), Fill::Zeros) => {
            v.fill(0);
            v
        }
        (Some(v), Fill::Overwritten) => v,
        (None, Fill::Zeros) => vec![0u64; words],
        (None, Fill::Overwritten) => vec![u64::MAX; words],
    }
}

/// Returns a freed tensor's buffer (one from `take_buffer`) to the cache.
pub fn give_back_buffer(v: Vec<u64>) {
    if v.is_empty() || !CACHE_ON.load(Ordering::Relaxed) {
        return;
    }
    cache().give(v);
}

/// The most words live and cached buffers may hold together: three times the largest live total
/// so far. A step's buffers of one size are needed at different times than those of another, so
/// reusing every buffer of a steady step takes more than its peak: a synthetic-tiny step missed
/// half its requests at 1×, about one in fifteen at 1.5× and 2×, none at 3× (2026-12-01).
fn limit_words(max_live_words: usize) -> usize {
    3 * max_live_words
}

impl BufferCache {
    const fn new() -> BufferCache {
        BufferCache {
            by_words: None,
            order: BTreeMap::new(),
            next_seq: 0,
            cached_words: 0,
            live_words: 0,
            max_live_words: 0,
        }
    }

    /// A cached buffer of `words` words if there is one, and the buffers to free first if not
    /// (so that live + cached stays within `limit_words`).
    fn take(&mut self, words: usize) -> (Option<Vec<u64>>, Vec<Vec<u64>>) {
        self.live_words += words;
        self.max_live_words = self.max_live_words.max(self.live_words);
        match self.pop_of_size(words) {
            Some(v) => (Some(v), Vec::new()),
            None => {
                let excess = (self.live_words + self.cached_words).saturating_sub(limit_words(self.max_live_words));
                (None, self.evict_at_least(excess))
            }
        }
    }

    fn give(&mut self, v: Vec<u64>) {
        let (seq, words) = (self.next_seq, v.len());
        self.next_seq += 1;
        self.live_words = self.live_words.saturating_sub(words);
        self.cached_words += words;
        self.order.insert(seq, words);
        self.by_words.get_or_insert_with(HashMap::new).entry(words).or_default().push((seq, v));
    }

    /// The most recently returned buffer of `words` words (the one warmest in the CPU caches).
    fn pop_of_size(&mut self, words: usize) -> Option<Vec<u64>> {
        let lists = self.by_words.as_mut()?;
        let list = lists.get_mut(&words)?;
        let (seq, v) = list.pop()?;
        if list.is_empty() {
            lists.remove(&words);
        }
        self.order.remove(&seq);
        self.cached_words -= words;
        Some(v)
    }

    /// Takes cached buffers until at least `words` words are out (or none is left), the most
    /// recently returned first: in a step that repeats, the buffer freed last is needed again
    /// latest, so it is the cheapest to lose.
    fn evict_at_least(&mut self, words: usize) -> Vec<Vec<u64>> {
        let mut out = Vec::new();
        let mut freed = 0;
        while freed < words {
            let Some(&size) = self.order.values().next_back() else { break };
            // The most recent buffer overall is the last of its size's list.
            let Some(v) = self.pop_of_size(size) else { break };
            freed += v.len();
            out.push(v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a cache of its own (the global one serves the tests running alongside): reuse by exact
    /// size, most recent first; a miss evicts, most recently returned first, only what keeps
    /// live + cached within the limit.
    #[test]
    fn buffers_are_reused_by_size_and_the_cache_stays_within_its_limit() {
        let mut c = BufferCache::new();
        let (hit, evicted) = c.take(100);
        assert!(hit.is_none() && evicted.is_empty());
        let a = vec![7u64; 100];
        let ptr = a.as_ptr();
        c.give(a);
        assert_eq!((c.live_words, c.cached_words, c.max_live_words), (0, 100, 100));
        let (hit, _) = c.take(100);
        let b = hit.expect("same size: a hit");
        assert_eq!((b.as_ptr(), b[0]), (ptr, 7));
        c.give(b);
        // Buffers of new sizes, each live alone (so the most ever live stays ≈ 100 words) and
        // given back: the cache grows until a miss would pass 3 × the most ever live, and that
        // miss evicts the most recently returned buffer (102 words) — just enough of them.
        let mut evicted_at = Vec::new();
        for words in 101..=104 {
            let (hit, evicted) = c.take(words);
            assert!(hit.is_none(), "{words} words were never cached");
            evicted_at.push((words, evicted.iter().map(Vec::len).collect::<Vec<_>>()));
            assert!(c.live_words + c.cached_words <= limit_words(c.max_live_words), "{words}");
            c.give(vec![0u64; words]);
        }
        assert_eq!(evicted_at, vec![(101, vec![]), (102, vec![]), (103, vec![102]), (104, vec![103])]);
    }

    #[test]
    fn fresh_buffers_are_poisoned_or_zero() {
        // Sizes no tensor asks for (tensors take whole 256-byte granules), so no hit is possible.
        assert!(take_buffer(12_345, Fill::Overwritten).iter().all(|&w| w == u64::MAX));
        assert!(take_buffer(12_347, Fill::Zeros).iter().all(|&w| w == 0));
    }
}
