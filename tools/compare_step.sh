#!/usr/bin/env bash
# lofi against PyTorch on the same training step, run alternately (A B A B …) so that machine
# drift cancels: prints each pair's ratio (PyTorch's median step time / lofi's: > 1 means lofi is
# faster) and the median over the pairs.
#
#     tools/compare_step.sh [PAIRS] -- STEP ARGS…
#     tools/compare_step.sh 5 -- --encoder synthetic-tiny --fidelity 1x32 --batch 128 --threads 2
#     TORCH_FLAGS=--channels-last tools/compare_step.sh 5 -- --encoder resnet18 --fidelity 1x112 --batch 1
#
# STEP ARGS go to both `lofi bench step` and tools/torch_reference.py (encoder, fidelity, batch,
# threads, warmup, repeats); TORCH_FLAGS adds PyTorch-only flags (--channels-last, --compile).
# Needs a built lofi (LOFI_BIN, default target/release/lofi) and python3 with torch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lofi="${LOFI_BIN:-target/release/lofi}"
pairs="${1:-5}"
[[ "${2:-}" == "--" ]] && shift 2 || shift $(( $# > 0 ? 1 : 0 ))
[[ -x "$lofi" ]] || { echo "compare_step: $lofi not found (cargo build --release)"; exit 2; }
[[ "$pairs" -ge 1 ]] || { echo "compare_step: PAIRS must be at least 1"; exit 2; }
ratios=()
for ((i = 1; i <= pairs; i++)); do
  a=$("$lofi" bench step "$@" --json | tail -n 1)
  # shellcheck disable=SC2086
  b=$(python3 tools/torch_reference.py "$@" ${TORCH_FLAGS:-} --json | tail -n 1)
  r=$(python3 -c '
import json, sys
a, b = json.loads(sys.argv[1])["median_s"], json.loads(sys.argv[2])["median_s"]
print("%.3f %.1f %.1f" % (b / a, a * 1e3, b * 1e3))' "$a" "$b")
  read -r ratio ms_a ms_b <<< "$r"
  echo "pair $i: lofi ${ms_a} ms, pytorch ${ms_b} ms, ratio ${ratio}"
  ratios+=("$ratio")
done
python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f"median ratio over {len(v)} pairs: {statistics.median(v):.3f} (pytorch time / lofi time)")' "${ratios[@]}"
