#!/usr/bin/env bash
# Headline GPU benchmarks in one command, for a session that is lent a GPU.
#
# Preparation (here, on the CPU machine, in the repo root):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux2014_x86_64 -d .whl skorch==1.4.0   # the image has tqdm, tabulate, matplotlib
#   mkdir -p data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz data/fashion-mnist/
# Then run on the device, carrying .whl and data:
#   bash benchmarks/gpu_session.sh b4 b1        # any of: b1 b2 b3 b4 (in the order given)
# Results land in benchmarks/results/ and, when $OUT is set, are copied there.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
[ -d data/fashion-mnist ] && export SKLPROXY_DATA="$PWD/data"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
declare -A SCRIPT=([b1]=b1_hashing.py [b2]=b2_clustering.py [b3]=b3_debias.py [b4]=b4_throughput.py)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(b4 b1)
for name in "${names[@]}"; do
    echo "=== $name: ${SCRIPT[$name]}"
    (cd benchmarks && python3 "${SCRIPT[$name]}") 2>&1 | tee "/tmp/$name.log"
done
python3 benchmarks/make_docs.py
if [ -n "${OUT:-}" ]; then
    cp benchmarks/results/* /tmp/*.log "$OUT"/ 2>/dev/null
    cp docs/benchmarks.md "$OUT"/
fi
