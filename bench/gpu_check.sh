#!/usr/bin/env bash
# The GPU checks of issue #13 as one script, for a session with a CUDA device (not CI).
#   bench/gpu_check.sh [OUT]      # NEGKIT_DATA must hold recsys/gowalla; writes OUT (default gpu-out/)
# 1. the CUDA variants of the device tests (chi-square laws, evaluation, no-sync steps);
# 2. bench/gpu.py on Gowalla (epoch, evaluation, peak memory per sampler, and the reference);
# 3. with FULL=1, the CLI's LightGCN run with its defaults (Recall@20, NDCG@20, wall time).
set -u
out=${1:-gpu-out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
timeout 300 python -m pytest -q -p no:cacheprovider -rs tests/test_samplers_device.py \
    tests/test_eval_rec_torch.py tests/test_rec_torch.py tests/test_samplers_batch.py -k "cuda or gpu" \
    2>&1 | tail -30 | tee "$out/cuda_tests.txt"
timeout 420 python bench/gpu.py --device cuda --data gowalla --epochs 2 --json "$out/gpu.json" \
    2>&1 | tail -25 | tee "$out/gpu_bench.txt"
if [ "${FULL:-0}" = 1 ]; then
    ( time negkit rec train --data gowalla --model lightgcn --sampler rns --device cuda \
        --no-progress --out "$out/lgcn" ) 2>&1 | tail -5 | tee "$out/cli.txt"
fi
