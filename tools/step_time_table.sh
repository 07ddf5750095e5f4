#!/usr/bin/env bash
# Predicted vs measured step time (and pool peak) of real training steps on this machine: the
# small end-to-end configurations that tests/memory_plan.rs checks byte for byte, each encoder
# preset with the G-TAD head, both precisions, no and chunk recompute. Measures the device's
# rates first (`lofi bench device`), then times each step (`lofi bench step`, median of 5 after
# 2 warm-up steps) next to the dry run's prediction, and prints a markdown table for
# docs/memory.md. Run it on a quiet machine (nothing else building or training).
#
#     tools/step_time_table.sh [cpu|cuda] > table.md
set -euo pipefail

lofi="${LOFI_BIN:-target/release/lofi}"
device="${1:-cpu}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$lofi" bench device --device "$device" --json > "$work/rates.json"
python3 - "$work/rates.json" << 'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = lambda key, scale: f"{r[key] / scale:.2f}" if r.get(key) else "-"
print(f"Rates ({r['device']}): convolution GEMM {g('gemm_flops_per_s', 1e9)} GFLOP/s (bf16 {g('bf16_gemm_flops_per_s', 1e9)}), "
      f"{g('bytes_per_s', 1e9)} GB/s (bf16 {g('bf16_bytes_per_s', 1e9)}), {r['per_kernel_s'] * 1e6:.2f} µs per kernel, "
      f"optimizer {g('update_params_per_s', 1e6)} M parameters/s\n")
print("| encoder | fidelity | videos | k | recompute | precision | peak (pool) | predicted peak | step | predicted step | predicted / measured |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
PY
for cfg in "synthetic-tiny 4x64 2" "resnet18 3x32 2" "resnet50 3x32 1"; do
  read -r enc fid videos <<< "$cfg"
  snippets="${fid%%x*}"
  for k in 1 $((snippets * videos)); do
    for recompute in none chunk; do
      for precision in fp32 bf16; do
        "$lofi" bench step --device "$device" --encoder "$enc" --head gtad-synthetic --fidelity "$fid" \
          --batch "$videos" --snippets-per-call "$k" --recompute "$recompute" --precision "$precision" \
          --warmup 2 --repeats 5 --rates "$work/rates.json" --json > "$work/step.json"
        python3 - "$work/step.json" "$enc" "$fid" "$videos" "$k" "$recompute" "$precision" << 'PY'
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
enc, fid, videos, k, rec, prec = sys.argv[2:]
ratio = r["predicted_step_s"] / r["median_s"]
print(f"| {enc} | {fid} | {videos} | {k} | {rec} | {prec} | {r['peak_bytes']} | {r['predicted_peak_bytes']} | "
      f"{r['median_s'] * 1e3:.1f} ms | {r['predicted_step_s'] * 1e3:.1f} ms | {ratio:.2f} |")
PY
      done
    done
  done
done
