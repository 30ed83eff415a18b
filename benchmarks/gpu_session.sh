#!/usr/bin/env bash
# Every GPU check in one command, for a session that is lent a GPU for a few minutes.
#
#   bash benchmarks/gpu_session.sh [ITEM ...]
#
# ITEMs run one after another, in priority order, each limited to the time
# left in the budget ($GPU_SESSION_SECONDS, default 560): `tests` (the CUDA
# tests, tests/test_cuda.py), `b4`, and benchmark jobs `b1:main`, `b1:sup`,
# `b1:unsup`, `b1:coarse`, `b2:dhog`, `b2:iic`, `b2:kmeans` (the parts of
# `python -m benchmarks.b1` / `b2`), `b3:background`, `b3:foreground`,
# `b3:fmnist`, `b3:palette`, `b3:pixel` (the settings of `python -m
# benchmarks.b3`). An ITEM ending in `&` runs in the background, beside the
# items after it (only for work whose timing is not reported, such as
# `tests&`). Every job writes its results as it goes
# (benchmarks/results/parts/), so a job stopped by the limit still reports
# what it measured; at the end the part files are merged into
# benchmarks/results/b{1,2,3}_*.{json,md} (`--merge`), docs/benchmarks.md is
# regenerated (`python -m benchmarks.docs`) and everything is packed into
# $OUT. One job at a time, most important first (benchmarks/README.md says why).
#
# Preparation (here, on the CPU machine, in the repo root):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#       -d .whl skorch==1.4.0 scikit-learn==1.9.1     # the image has tqdm, tabulate, scipy
#   mkdir -p data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz data/fashion-mnist/
# Then run on the device, carrying .whl and data:
#   SKLPROXY_COMMIT=$(git rev-parse HEAD) GPU_SESSION_SECONDS=560 bash benchmarks/gpu_session.sh
# On a CPU machine, GPU_SESSION_SMOKE=1 runs the same plumbing with --quick settings.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
budget=${GPU_SESSION_SECONDS:-560}
reserve=20  # merging and packing
left() { echo $((budget - reserve - (SECONDS - start))); }
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
if [ -n "${GPU_SESSION_SMOKE:-}" ]; then
    quick=(--quick)
    b4_args=(--quick --repeats 1)
fi
declare -A SELECT=([b1]=--part [b2]=--part [b3]=--setting)
plan=("$@")
[ ${#plan[@]} -eq 0 ] && plan=(b4 "tests&" b1:main b1:sup b2:dhog b2:iic b3:background b3:foreground
                               b3:pixel b1:unsup b1:coarse b2:kmeans)
for item in "${plan[@]}"; do
    background=""
    [[ $item == *"&" ]] && background=1 && item=${item%&}
    limit=$(left)
    if [ "$limit" -lt 10 ]; then echo "--- $item: skipped, no time left"; continue; fi
    echo "=== $item (limit ${limit} s, t=$((SECONDS - start)) s)"
    case $item in
        tests) cmd=(python3 -m pytest -q tests/test_cuda.py) ;;
        b4) cmd=(python3 -m benchmarks.b4 "${b4_args[@]}") ;;
        b[123]:*) cmd=(python3 -m "benchmarks.${item%%:*}" "${quick[@]}" "${SELECT[${item%%:*}]}" "${item#*:}") ;;
        *) echo "unknown item $item"; continue ;;
    esac
    [ -n "$background" ] && [[ $item == b[123]:* ]] && cmd+=(--concurrent)
    if [ -n "$background" ]; then
        timeout "$limit" "${cmd[@]}" > "$logs/${item/:/_}.log" 2>&1 &
    else
        timeout "$limit" "${cmd[@]}" > "$logs/${item/:/_}.log" 2>&1
        echo "    exit $?, $(tail -n 1 "$logs/${item/:/_}.log" | cut -c1-160)"
    fi
done
wait

echo "=== merge (t=$((SECONDS - start)) s)"
for bench in b1 b2 b3; do
    python3 -m "benchmarks.$bench" "${quick[@]}" --merge > "$logs/merge_$bench.log" 2>&1 \
        || echo "no parts to merge: $bench"
done
python3 -m benchmarks.docs > "$logs/docs.log" 2>&1 || echo "benchmarks.docs failed"
[ -f "$logs/tests.log" ] && { echo "=== CUDA tests"; tail -n 3 "$logs/tests.log"; }
for f in benchmarks/results/b[1-4]_*.md; do
    [[ $f == *quick* ]] || { echo "=== $f"; cat "$f"; }
done
if [ -n "${OUT:-}" ]; then
    tar czf "$OUT/gpu_session.tar.gz" benchmarks/results docs "$logs" 2>/dev/null
    cp "$logs"/b4.log "$logs"/tests.log "$OUT"/ 2>/dev/null
fi
echo "done in $((SECONDS - start)) s"
