#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md in one run on this machine: the disk's own fsync'd write
# rate (fio) as the reference, then kcat and `wharf bench` against a fresh broker on the same disk,
# then long-poll cost and latency, then a 10-member group's rebalance time. Needs:
# target/release/wharf, kcat, fio, .venv (scripts/test --install-only installs kcat and .venv;
# `apt-get install fio`).
#
#   benchmarks/run.sh [DATA_DIR]     (default target/bench, on the same filesystem as the repo)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WHARF=target/release/wharf
DIR=${1:-target/bench}
PORT=39092
B=127.0.0.1:$PORT
rm -rf "$DIR" && mkdir -p "$DIR"

echo "## machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB, $(df -h "$DIR" | awk 'NR==2 {print $1}')"
echo "kcat $(kcat -V | grep -m1 -o 'Version [0-9.]*'), $(kcat -V | grep -m1 -o 'librdkafka [0-9.]*')"

echo "## reference: fio sequential write, 1 MiB blocks, fdatasync after each"
fio --name=ref --filename="$DIR/fio.test" --rw=write --bs=1M --size=1G --fdatasync=1 --ioengine=sync \
    --output-format=terse --minimal | awk -F';' '{printf "fio_MBps=%.1f\n", $48 * 1024 / 1e6}'
rm -f "$DIR/fio.test"

printf 'x%.0s' $(seq 99) | awk '{for (i = 0; i < 1000000; i++) print}' > "$DIR/m100.txt"
printf 'y%.0s' $(seq 999) | awk '{for (i = 0; i < 200000; i++) print}' > "$DIR/m1000.txt"

RUST_LOG=warn "$WHARF" serve --listen "$B" --data-dir "$DIR/data" 2> "$DIR/broker.log" &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
sleep 1
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{printf "%.3f", ($14 + $15) / t}' /proc/$BROKER/stat; }
now() { date +%s.%N; }

kcat_run() { # topic file acks count
    local c0 s0 s1 c1
    c0=$(cpu); s0=$(now)
    kcat -P -b $B -t "$1" -X linger.ms=5 -X batch.size=1000000 -X acks="$3" \
        -X queue.buffering.max.messages=2000000 -X queue.buffering.max.kbytes=2097151 -l "$2"
    s1=$(now); c1=$(cpu)
    awk -v n="$4" -v w="$(echo "$s1 - $s0" | bc)" -v c="$(echo "$c1 - $c0" | bc)" -v t="$1" -v a="$3" \
        'BEGIN {printf "kcat produce %-10s acks=%-3s %8d msgs in %.3f s = %9.0f msgs/s, %6.1f MB/s; broker CPU %.3f s (%.3f s per million)\n", t, a, n, w, n / w, n * (t ~ /1000/ ? 1000 : 100) / w / 1e6, c, c * 1e6 / n}'
    c0=$(cpu); s0=$(now)
    local got
    got=$(kcat -C -b $B -t "$1" -o beginning -e -q -f '\n' | wc -l)
    s1=$(now); c1=$(cpu)
    awk -v n="$got" -v w="$(echo "$s1 - $s0" | bc)" -v c="$(echo "$c1 - $c0" | bc)" -v t="$1" \
        'BEGIN {printf "kcat consume %-10s          %8d msgs in %.3f s = %9.0f msgs/s; broker CPU %.3f s\n", t, n, w, n / w, c}'
}

echo "## kcat (librdkafka), linger.ms=5 batch.size=1000000, one partition"
kcat_run k100-one "$DIR/m100.txt" 1 1000000
kcat_run k100-all "$DIR/m100.txt" all 1000000
kcat_run k1000-one "$DIR/m1000.txt" 1 200000
kcat_run k1000-all "$DIR/m1000.txt" all 200000

echo "## wharf bench, batch-size 1000000, linger-ms 5, one partition"
for spec in "100 1000000 1" "100 1000000 all" "1000 200000 1" "1000 200000 all"; do
    set -- $spec
    "$WHARF" bench produce --bootstrap $B --topic "w$1-$3" --message-size "$1" --count "$2" --acks "$3" --no-progress 2>/dev/null \
        | grep -E 'throughput|latency' | sed "s/^/produce size=$1 acks=$3: /"
    "$WHARF" bench consume --bootstrap $B --topic "w$1-$3" --count "$2" --no-progress 2>/dev/null \
        | grep -E 'throughput' | sed "s/^/consume size=$1 acks=$3: /"
done
"$WHARF" bench end-to-end --bootstrap $B --topic e2e --message-size 100 --count 200000 --rate 100000 --acks all --no-progress 2>/dev/null \
    | grep -E 'throughput|latency' | sed 's/^/end-to-end 100 B at 100k msgs\/s acks=all: /'

echo "## long poll"
.venv/bin/python benchmarks/longpoll.py $B $BROKER

echo "## consumer-group rebalance: 10 members, 100 partitions"
.venv/bin/python benchmarks/rebalance.py $B 7
