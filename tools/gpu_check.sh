#!/usr/bin/env bash
# The one script that checks lofi on a GPU machine with no Rust toolchain.
#
# Run from the repo root with a prebuilt binary (cargo build --release, on a machine with nvcc so
# fatbin + PTX are embedded; see .ci/run):
#     tools/gpu_check.sh            # logs go to $OUT, default ./gpu-check-out
#
# It finds the CUDA libraries (CUDA_HOME, /usr/local/cuda*, ldconfig, python site-packages
# nvidia/cu13/lib and nvidia/nccl/lib, in that order) and prints where each came from, links
# libnccl.so -> libnccl.so.2 in a temp dir (cudarc looks for the unversioned name), sets
# LOFI_REQUIRE_CUDA=1, prints nvidia-smi, then runs `lofi info`, `lofi selftest` (with each kernel
# form: auto, fatbin, ptx, nvrtc; every kernel case runs twice and must be bit-identical, index
# outputs are compared exactly, and the composed checks — synthetic-tiny encoder + G-TAD head,
# forward and backward, CUDA against CPU, in f32 and under the bf16 policy — close each selftest
# run) and `lofi bench`.
# Exit 0 only when every step passed. Record the
# numbers in docs/perf.md (card, date, driver, command, numbers).
set -uo pipefail

lofi="${LOFI_BIN:-target/release/lofi}"
out="${OUT:-./gpu-check-out}"
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"

say() { echo "$*" | tee -a "$summary"; }

if [[ ! -x "$lofi" ]]; then
  say "gpu_check: $lofi not found: build it first (cargo build --release) and run from the repo root"
  exit 2
fi

# ---- CUDA libraries ------------------------------------------------------------------------------
# Candidate directories in the documented order; duplicates and missing ones are skipped.
dirs=()
add_dir() { [[ -d "$1" ]] && [[ " ${dirs[*]-} " != *" $1 "* ]] && dirs+=("$1"); return 0; }
if [[ -n "${CUDA_HOME:-}" ]]; then
  add_dir "$CUDA_HOME/lib64"; add_dir "$CUDA_HOME/lib"; add_dir "$CUDA_HOME/targets/x86_64-linux/lib"
fi
for d in /usr/local/cuda /usr/local/cuda-*; do
  add_dir "$d/lib64"; add_dir "$d/targets/x86_64-linux/lib"
done
if command -v ldconfig > /dev/null; then
  while read -r d; do add_dir "$d"; done < <(ldconfig -p 2>/dev/null | awk -F'=> ' '/=>/ {print $2}' | xargs -r -n1 dirname | sort -u)
fi
if command -v python3 > /dev/null; then
  while read -r sp; do
    add_dir "$sp/nvidia/cu13/lib"; add_dir "$sp/nvidia/nccl/lib"
    for pkg in "$sp"/nvidia/*/lib; do add_dir "$pkg"; done
  done < <(python3 -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)
fi

libdirs=()
say "== CUDA libraries (searched: CUDA_HOME, /usr/local/cuda*, ldconfig, python site-packages)"
for lib in libcuda.so.1 libnvrtc.so.13 libnvrtc-builtins.so.13.0 libcublas.so.13 libcublasLt.so.13 libnccl.so.2; do
  found=""
  for d in "${dirs[@]}"; do
    if [[ -e "$d/$lib" ]]; then found="$d"; break; fi
  done
  if [[ -n "$found" ]]; then
    say "  $lib: $found"
    [[ " ${libdirs[*]-} " != *" $found "* ]] && libdirs+=("$found")
  else
    say "  $lib: NOT FOUND"
  fi
done

# cudarc opens libnccl.so, never libnccl.so.2: give it the unversioned name in a temp dir.
linkdir="$(mktemp -d)"
trap 'rm -rf "$linkdir"' EXIT
for d in "${libdirs[@]}"; do
  if [[ -e "$d/libnccl.so.2" && ! -e "$d/libnccl.so" ]]; then
    ln -s "$d/libnccl.so.2" "$linkdir/libnccl.so"
    say "  libnccl.so -> $d/libnccl.so.2 (symlink in $linkdir)"
  fi
done
joined="$(IFS=:; echo "${libdirs[*]-}")"
export LD_LIBRARY_PATH="$linkdir${joined:+:$joined}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# NVRTC needs cuda_bf16.h: point CUDA_HOME at a directory that has it, when none is set.
if [[ -z "${CUDA_HOME:-}" ]]; then
  for d in "${libdirs[@]}"; do
    if [[ -f "$d/../include/cuda_bf16.h" ]]; then export CUDA_HOME="$(cd "$d/.." && pwd)"; break; fi
  done
fi
say "  LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
say "  CUDA_HOME=${CUDA_HOME:-unset}"
export LOFI_REQUIRE_CUDA=1

# ---- the machine ---------------------------------------------------------------------------------
say "== machine"
say "  date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "  commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if command -v nvidia-smi > /dev/null && nvidia-smi > "$out/nvidia-smi.txt" 2>&1; then
  cat "$out/nvidia-smi.txt"
  say "  gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)"
else
  say "gpu_check: no NVIDIA GPU visible (nvidia-smi missing or failing): lofi will find no device"
fi

# ---- lofi ----------------------------------------------------------------------------------------
failures=0
step() {  # step NAME TIMEOUT_S ARGS... : runs lofi ARGS, logs to $out/NAME.log, records the verdict
  local name="$1" limit="$2"; shift 2
  echo "== lofi $*"
  timeout "$limit" "$lofi" "$@" 2>&1 | tee "$out/$name.log"
  local rc="${PIPESTATUS[0]}"
  case "$rc" in
    0) say "PASS  lofi $*" ;;
    3) say "FAIL  lofi $* (exit 3: no CUDA device or driver; see the libraries above)"; failures=$((failures + 1)) ;;
    124) say "FAIL  lofi $* (timed out after ${limit}s)"; failures=$((failures + 1)) ;;
    *) say "FAIL  lofi $* (exit $rc, log: $out/$name.log)"; failures=$((failures + 1)) ;;
  esac
}

step info 120 info
if grep -q '^CUDA devices: none' "$out/info.log"; then
  say "FAIL  no CUDA device: $(grep '^CUDA devices: none' "$out/info.log")"
  say "== gpu_check: stopped: this machine has no usable GPU or driver; logs in $out"
  exit 1
fi
step selftest 300 selftest
# Each embedded form on its own; fatbin and PTX exist only in a binary built with nvcc.
forms=(nvrtc)
if grep -q 'embedded as fatbin' "$out/info.log"; then
  forms=(fatbin ptx nvrtc)
else
  say "SKIP  selftest --kernels fatbin/ptx: this binary was built without nvcc"
fi
for form in "${forms[@]}"; do
  step "selftest-$form" 300 selftest --kernels "$form"
done
step bench 420 bench

# ---- memory and time predictions against the device (docs/memory.md) ------------------------------
# The device's rates for the step-time model, then real training steps timed next to the dry run's
# predictions: the pool's measured peak must equal the prediction byte for byte.
step rates 120 bench device --device cuda --json
[[ -s "$out/rates.log" ]] && cp "$out/rates.log" "$out/rates.json"
# Both precisions: under bf16 (f32 master weights, bf16 activations) the prediction is exact too.
for cfg in "synthetic-tiny gtad-synthetic 32x32 8 fp32" "resnet18 gtad-activitynet 4x64 2 fp32" \
           "resnet18 gtad-activitynet 25x112 2 fp32" "synthetic-tiny gtad-synthetic 32x32 8 bf16" \
           "resnet18 gtad-activitynet 25x112 2 bf16"; do
  read -r enc head fid batch prec <<< "$cfg"
  name="bench-step-$enc-$fid-$prec"
  step "$name" 300 bench step --device cuda --encoder "$enc" --head "$head" --fidelity "$fid" --batch "$batch" \
    --snippets-per-call 16 --precision "$prec" --rates "$out/rates.json" --json
  if python3 - "$out/$name.log" << 'PY'
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("{")][-1]
r = json.loads(line)
print(f"  peak {r['peak_bytes']} B, predicted {r['predicted_peak_bytes']} B; step {r['median_s']:.4f} s, predicted {r['predicted_step_s']:.4f} s")
sys.exit(0 if r["peak_bytes"] == r["predicted_peak_bytes"] else 1)
PY
  then say "PASS  $name: CUDA pool peak = Meta prediction"
  else say "FAIL  $name: CUDA pool peak differs from the Meta prediction"; failures=$((failures + 1)); fi
  # What the card really held at the pool's peak (driver: total - free) against prediction + the
  # fixed overhead (context, modules, cuBLAS handle): within 2%.
  if python3 - "$out/$name.log" << 'PY'
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
used, expected = r.get("driver_used_bytes"), r["predicted_peak_bytes"] + (r.get("overhead_bytes") or 0)
if not used:
    print("  no driver sample in the bench step output"); sys.exit(1)
off = used / expected - 1
print(f"  driver used {used} B at the pool peak, predicted + overhead {expected} B ({100 * off:+.2f}%)")
sys.exit(0 if abs(off) <= 0.02 else 1)
PY
  then say "PASS  $name: driver used memory within 2% of prediction + overhead"
  else say "FAIL  $name: driver used memory not within 2% of prediction + overhead"; failures=$((failures + 1)); fi
done
step plan 300 plan --budget 32GiB --device cuda --rates "$out/rates.json"

say "== gpu_check: $failures step(s) failed; logs in $out"
[[ "$failures" -eq 0 ]]
