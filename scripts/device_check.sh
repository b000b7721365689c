#!/usr/bin/env bash
# The GPU checks, run on a lent device machine (prepared by scripts/device_prepare.sh): the
# CUDA tests (GPU masks against CPU float32, batches, the head's torch path), then
# `evosam bench speed` on CUDA for LiteMedSAM (1, 8 and 16 frames per encoder call) and
# SAM ViT-B with random weights (no checkpoint here: speed does not depend on the weights).
# Results and logs go to $OUT (the device tool brings them back).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/evosam-device-out}"
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 EVOSAM_SHARED_DATA="$PWD/.gpudata" QT_QPA_PLATFORM=offscreen
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -m pytest -q -p no:cacheprovider tests/unit/test_gpu.py tests/unit/test_head_torch.py 2>&1 | tee "$OUT/tests.log"
bench() {  # name, then bench speed arguments
    local name=$1; shift
    timeout 150 python3 -m evosam bench speed --device cuda --count 64 --json "$@" 2>&1 | tee "$OUT/$name.log" | tail -14
}
bench litemedsam_b1 --batch 1
bench litemedsam_b8 --batch 8
bench litemedsam_b16 --batch 16
bench vit_b_b16 --model sam_vit_b --random-weights --batch 16
echo "device_check: done"
