#!/usr/bin/env bash
# Idempotent vs plain produce throughput, in the same run against the same broker (issue #5): kcat
# (librdkafka) sends 1,000,000 × 100 B messages with acks=all, with enable.idempotence=true and
# without, ROUNDS times, alternating which goes first so page-cache writeback and other load on
# the machine fall on both alike. For each run it prints msgs/s and the CPU seconds per million
# messages of the broker (/proc/PID/stat) and of kcat (/usr/bin/time), so a difference can be
# placed on the side that causes it.
# Needs: a built broker (WHARF, default target/ci/wharf), kcat, /usr/bin/time, bc.
#
#   benchmarks/idempotence.sh [DATA_DIR] [ROUNDS]     (default target/bench-idem, 5)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WHARF=${WHARF:-target/ci/wharf}
DIR=${1:-target/bench-idem}
ROUNDS=${2:-5}
PORT=39093
B=127.0.0.1:$PORT
COUNT=1000000
rm -rf "$DIR" && mkdir -p "$DIR"

echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(df -h "$DIR" | awk 'NR==2 {print $1}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kcat $(kcat -V | grep -m1 -o 'Version [0-9.]*'), $(kcat -V | grep -m1 -o 'librdkafka [0-9.]*'); broker $WHARF"
printf 'x%.0s' $(seq 99) | awk -v n=$COUNT '{for (i = 0; i < n; i++) print}' > "$DIR/m100.txt"

RUST_LOG=warn "$WHARF" serve --listen "$B" --data-dir "$DIR/data" 2> "$DIR/broker.log" &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
sleep 1
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{printf "%.3f", ($14 + $15) / t}' /proc/$BROKER/stat; }

# Prints "msgs/s broker-cpu-s/M kcat-cpu-s/M" for one run; $1 topic, $2 true/false idempotence.
run() {
    local s0 s1 c0 c1 got
    c0=$(cpu); s0=$(date +%s.%N)
    /usr/bin/time -o "$DIR/time" -f "%U %S" kcat -P -b $B -t "$1" -X linger.ms=5 -X batch.size=1000000 \
        -X acks=all -X enable.idempotence="$2" \
        -X queue.buffering.max.messages=2000000 -X queue.buffering.max.kbytes=2097151 -l "$DIR/m100.txt"
    s1=$(date +%s.%N); c1=$(cpu)
    got=$(kcat -C -b $B -t "$1" -o beginning -e -q -f '\n' | wc -l)
    [ "$got" -eq $COUNT ] || { echo "topic $1 holds $got messages, expected $COUNT" >&2; exit 1; }
    awk -v n=$COUNT -v w="$(echo "$s1 - $s0" | bc)" -v b="$(echo "$c1 - $c0" | bc)" \
        '{printf "%.0f %.3f %.3f\n", n / w, b * 1e6 / n, ($1 + $2) * 1e6 / n}' "$DIR/time"
}

for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then
        plain=$(run "plain-$round" false); idem=$(run "idem-$round" true)
    else
        idem=$(run "idem-$round" true); plain=$(run "plain-$round" false)
    fi
    echo "$plain $idem" | awk -v r="$round" '{printf "round %d: plain %8.0f msgs/s (CPU per M: broker %.2f s, kcat %.2f s), idempotent %8.0f msgs/s (broker %.2f s, kcat %.2f s); ratio %.3f\n", r, $1, $2, $3, $4, $5, $6, $4 / $1}'
done
