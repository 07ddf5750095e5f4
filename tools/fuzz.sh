#!/usr/bin/env bash
# Long fuzz runs of every reader (tests/fuzz_readers.rs): 1,000,000 inputs per reader by default.
#
#     tools/fuzz.sh                      # all readers, 1e6 inputs each, a fresh seed
#     ITERS=50000 SEED=7 tools/fuzz.sh fuzz_jpeg_frame
#
# Findings (panics, inputs slower than 1 s, allocations above a reader's bound) are written to
# $CORPUS/<reader>/<kind>-<hash>.bin (default ./fuzz-corpus) and fail the run. Aborts, which no
# catch_unwind sees, leave the input being read as <reader>/in-flight.bin; this script renames it
# to <reader>/abort-<n>.bin. Replay a kept input by reading it with the same reader (each reader
# in tests/fuzz_readers.rs is one function). Runs from any directory; needs cargo.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
iters="${ITERS:-1000000}"
seed="${SEED:-$(date +%s)}"
corpus="${CORPUS:-$PWD/fuzz-corpus}"
mkdir -p "$corpus"
echo "fuzz: $iters inputs per reader, seed $seed, corpus $corpus"

LOFI_FUZZ_ITERS="$iters" LOFI_FUZZ_SEED="$seed" LOFI_FUZZ_CORPUS="$corpus" LOFI_FUZZ_TRACK=1 \
  cargo test --release --test fuzz_readers -- --nocapture --test-threads "${THREADS:-2}" "$@" 2>&1 \
  | grep -E '^(fuzz |test |thread |.*findings|.*panicked|error)' 
status=${PIPESTATUS[0]}

aborts=0
for f in "$corpus"/*/in-flight.bin; do
  [[ -e "$f" ]] || continue
  n=$(ls "$(dirname "$f")" | grep -c '^abort-' || true)
  mv "$f" "$(dirname "$f")/abort-$n.bin"
  echo "fuzz: the run aborted while reading $(dirname "$f")/abort-$n.bin"
  aborts=$((aborts + 1))
done
if [[ $status -ne 0 || $aborts -ne 0 ]]; then
  echo "fuzz: FAILED (exit $status, $aborts aborts); inputs are in $corpus"
  exit 1
fi
echo "fuzz: no findings"
