#!/usr/bin/env bash
# Predicted vs measured step time (and pool peak) of real training steps on this machine: the
# small end-to-end configurations that tests/memory_plan.rs checks byte for byte, each encoder
# preset with the G-TAD head, both precisions, no and chunk recompute. Measures the device's
# costs first (`lofi bench device`: fitted to its own calibration steps, at a fidelity this table
# does not use), then times each step (`lofi bench step`, median of 5 after
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
cal = r.get("calibration", [])
worst = max((abs(s["predicted_s"] / s["measured_s"] - 1) for s in cal), default=0)
print(f"Costs ({r['device']}, {r['source']}; the calibration steps within ±{100 * worst:.0f}%): "
      f"{r['s_per_gemm_flop'] * 1e12:.2f} ps per f32 GEMM FLOP, {r['s_per_reduced_gemm_flop'] * 1e12:.2f} per bf16 one, "
      f"{r['s_per_gemm_operand_byte'] * 1e12:.1f} ps per GEMM operand byte, {r['s_per_allocated_byte'] * 1e12:.1f} / "
      f"{r['s_per_reduced_allocated_byte'] * 1e12:.1f} ps per f32 / bf16 byte allocated, {r['s_per_allocation'] * 1e6:.2f} / "
      f"{r['s_per_reduced_allocation'] * 1e6:.2f} µs per f32 / bf16 allocation, {r['s_per_updated_param'] * 1e9:.2f} ns per parameter updated\n")
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
