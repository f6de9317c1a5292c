#!/usr/bin/env bash
# The GPU checks of issue #13 as one command, for a session with a CUDA device (not CI).
#   bench/gpu_check.sh OUT [BUDGET_S]
# Runs from the checkout (PYTHONPATH=src); NEGKIT_DATA must hold recsys/gowalla.  Writes to OUT:
#   gpu.txt        the device, driver, torch and numba versions
#   cuda_tests.txt the CUDA variants of the device tests (laws, evaluation, no-sync steps, graphs)
#   gpu_bench.txt  bench/gpu.py on Gowalla (epoch, evaluation, peak memory per sampler; reference)
#   gpu.json       the same rows as JSON (BENCH_ARGS: more arguments, e.g. fewer samplers)
#   cli.txt        `negkit rec train --data gowalla --model lightgcn --sampler rns --device cuda`
#                  with its defaults, stopped by --max-minutes when the budget runs out
#   lgcn.json      its metrics.json; saved.txt: the saved embeddings scored by the CPU evaluator
# Every step has its own timeout inside BUDGET_S (default 540 s), so one failure leaves the rest.
. "$(dirname "$0")/gpu_common.sh" "$@"

timeout 140 python3 -m pytest -q -p no:cacheprovider -rs tests/test_rec_cuda_graph.py \
    tests/test_samplers_device.py tests/test_eval_rec_torch.py tests/test_rec_torch.py \
    tests/test_samplers_batch.py -k "cuda or gpu or graph" >"$out/cuda_tests.txt" 2>&1
echo "exit $? after $(($(date +%s) - t0)) s" >>"$out/cuda_tests.txt"

timeout 210 python3 bench/gpu.py --device cuda --data gowalla --epochs 2 --max-seconds 150 \
    --json "$out/gpu.json" ${BENCH_ARGS:-} >"$out/gpu_bench.txt" 2>&1
echo "exit $? after $(($(date +%s) - t0)) s" >>"$out/gpu_bench.txt"

# the rest of the budget, less 90 s for loading, the final evaluation, saving and scoring
minutes=$(python3 -c "print(max(0.5, ($(left) - 90) / 60))")
run=/tmp/negkit-lgcn
timeout $(($(left) - 5)) python3 -m negkit rec train --data gowalla --model lightgcn \
    --sampler rns --device cuda --no-progress --eval-every 50 --max-minutes "$minutes" \
    --out "$run" >"$out/cli.txt" 2>&1
echo "exit $? after $(($(date +%s) - t0)) s (max-minutes $minutes)" >>"$out/cli.txt"
cp "$run/metrics.json" "$out/lgcn.json" 2>/dev/null
python3 - "$run" >"$out/saved.txt" 2>&1 <<'EOF'
import sys
import numpy as np
from negkit.data import registry
from negkit.eval.rec import evaluate_ranking

d = registry.load("gowalla")
U = np.load(f"{sys.argv[1]}/user_embeddings.npy")
V = np.load(f"{sys.argv[1]}/item_embeddings.npy")
print("saved embeddings, CPU evaluator:", evaluate_ranking(U, V, d.test, exclude=[d.train], ks=(20,)))
EOF
echo "done after $(($(date +%s) - t0)) s" >>"$out/saved.txt"
