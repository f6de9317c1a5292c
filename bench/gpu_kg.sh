#!/usr/bin/env bash
# The GPU checks of issues #17, #18 and #19 as one command, for a session with a CUDA device
# (not CI); bench/gpu_check.sh holds #13's.
#   bench/gpu_kg.sh OUT [BUDGET_S]
# Runs from the checkout (PYTHONPATH=src); NEGKIT_DATA must hold kg/wn18rr.  Writes to OUT:
#   gpu.txt        the device, driver, torch and numba versions
#   cuda_tests.txt the CUDA variants of the contrastive, KG and IRGAN tests
#   rotate.txt     RotatE on WN18RR with the paper's settings (Sun et al. 2019, table 5's
#                  WN18RR column: 500 complex dimensions, 1,024 self-adversarial negatives,
#                  α = 0.5, γ = 6, batch 512, Adam 5e-5, 80,000 steps = 472 epochs, the rate
#                  divided by 10 after half of them), stopped by --max-minutes when the budget
#                  runs out; the epoch chosen on validation MRR; rotate.json: its metrics.json
# Every step has its own timeout inside BUDGET_S (default 540 s), so one failure leaves the rest.
. "$(dirname "$0")/gpu_common.sh" "$@"

timeout 120 python3 -m pytest -q -p no:cacheprovider -rs tests/test_contrastive_*.py \
    tests/test_kg_*.py tests/test_irgan.py -k "cuda or gpu" \
    >"$out/cuda_tests.txt" 2>&1
echo "exit $? after $(($(date +%s) - t0)) s" >>"$out/cuda_tests.txt"

# the rest of the budget, less 60 s for loading, the final test and saving
minutes=$(python3 -c "print(max(0.5, ($(left) - 60) / 60))")
run=/tmp/negkit-rotate
timeout $(($(left) - 5)) python3 -m negkit kg train --data wn18rr --model rotate \
    --sampler self_adversarial:alpha=0.5 --dim 500 --n-negs 1024 --batch-size 512 --lr 5e-5 \
    --lr-schedule step --epochs 472 --eval-every 40 --device cuda --seed 0 \
    --max-minutes "$minutes" --out "$run" >"$out/rotate.txt" 2>&1
echo "exit $? after $(($(date +%s) - t0)) s (max-minutes $minutes)" >>"$out/rotate.txt"
cp "$run/metrics.json" "$out/rotate.json" 2>/dev/null
echo "done after $(($(date +%s) - t0)) s" >>"$out/rotate.txt"
