#!/usr/bin/env bash
# Every GPU check in one command, for a session that is lent a GPU for a few minutes.
#
#   1. B4 throughput, alone on the card (its timings need the card to itself);
#   2. then, concurrently on the one card: the CUDA tests (tests/test_cuda.py),
#      the parts of B1 (main, sup, unsup, coarse), B2 (dhog, iic, kmeans) and
#      B3 (background, foreground, pixel), each a process with a time limit.
#      Every part writes its results as it goes (benchmarks/results/parts/), so
#      a part stopped by the limit still reports what it measured;
#   3. the parts are merged into benchmarks/results/b{1,2,3}_*.{json,md}, the
#      docs table is regenerated, and everything is packed into $OUT.
#
# Preparation (here, on the CPU machine, in the repo root):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux2014_x86_64 -d .whl skorch==1.4.0   # the image has tqdm, tabulate
#   mkdir -p data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz data/fashion-mnist/
# Then run on the device, carrying .whl and data:
#   SKLPROXY_COMMIT=$(git rev-parse HEAD) GPU_SESSION_SECONDS=560 bash benchmarks/gpu_session.sh
# On a CPU machine, GPU_SESSION_SMOKE=1 runs the same plumbing on tiny settings.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
budget=${GPU_SESSION_SECONDS:-560}
left() { echo $((budget - (SECONDS - start))); }
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
[ -d data/fashion-mnist ] && export SKLPROXY_DATA="$PWD/data"
logs=/tmp/gpu_session_logs
rm -rf "$logs" benchmarks/results/parts && mkdir -p "$logs"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import sys, torch, sklearn, skorch, numpy; print(sys.version.split()[0], 'torch', torch.__version__, 'sklearn', sklearn.__version__, 'skorch', skorch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())"

quick=()
b4_args=()
if [ -n "${GPU_SESSION_SMOKE:-}" ]; then  # plumbing check on a CPU machine
    quick=(--quick)
    b4_args=(--quick --repeats 1)
fi

echo "=== B4 throughput, alone on the card ($(left) s left)"
(cd benchmarks && timeout 200 python3 b4_throughput.py "${b4_args[@]}") > "$logs/b4.log" 2>&1
tail -n 12 "$logs/b4.log"

limit=$(( $(left) - 45 ))
echo "=== concurrent parts, each limited to ${limit} s"
export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
launch() {  # launch NAME SCRIPT ARGS...: one part in the background
    local name=$1; shift
    (cd benchmarks && timeout "$limit" python3 "$@") > "$logs/$name.log" 2>&1 &
}
(timeout "$limit" python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py) > "$logs/cuda_tests.log" 2>&1 &
for part in main sup unsup coarse; do
    launch "b1_$part" b1_hashing.py "${quick[@]}" --concurrent --part "$part"
done
for part in dhog iic; do
    launch "b2_$part" b2_clustering.py "${quick[@]}" --concurrent --part "$part"
done
OMP_NUM_THREADS=4 launch b2_kmeans b2_clustering.py "${quick[@]}" --concurrent --part kmeans
for part in background foreground pixel; do
    launch "b3_$part" b3_debias.py "${quick[@]}" --concurrent --part "$part"
done
while [ -n "$(jobs -r)" ]; do
    sleep 30
    util=$(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null)
    echo "t=$((SECONDS - start)) s, running: $(jobs -r | wc -l), gpu: ${util:-n/a}, parts: $(ls benchmarks/results/parts 2>/dev/null | tr '\n' ' ')"
done

echo "=== merge ($(left) s left)"
(cd benchmarks && for script in b1_hashing.py b2_clustering.py b3_debias.py; do
    python3 "$script" "${quick[@]}" --merge > "$logs/merge_${script%.py}.log" 2>&1 || echo "merge failed: $script"
done)
python3 benchmarks/make_docs.py > "$logs/make_docs.log" 2>&1 || echo "make_docs failed"
echo "=== CUDA tests"; tail -n 5 "$logs/cuda_tests.log"
for f in "$logs"/*.log; do echo "--- $(basename "$f"): $(tail -n 1 "$f" | cut -c1-200)"; done
for f in benchmarks/results/b[1-4]_*.md; do echo "=== $f"; cat "$f"; done
if [ -n "${OUT:-}" ]; then
    tar czf "$OUT/gpu_session.tar.gz" benchmarks/results docs "$logs"
    cp "$logs/b4.log" "$logs/cuda_tests.log" "$OUT"/
fi
echo "done in $((SECONDS - start)) s"
