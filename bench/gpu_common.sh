# Sourced by bench/gpu_check.sh and bench/gpu_kg.sh: OUT and BUDGET_S from the arguments,
# left() (seconds of the budget still left), the environment, and OUT/gpu.txt (the device,
# driver, Python, torch, CUDA and numba versions).
set -u
out=${1:?OUT folder}
budget=${2:-540}
mkdir -p "$out"
t0=$(date +%s)
left() { echo $((budget - ($(date +%s) - t0))); }
export PYTHONPATH=${PYTHONPATH:-src} PYTHONUNBUFFERED=1
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/negkit-numba}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import sys, torch, numba; print(sys.version.split()[0], torch.__version__, \
torch.version.cuda, numba.__version__, torch.cuda.get_device_name(0))"
    nproc
} >"$out/gpu.txt" 2>&1
