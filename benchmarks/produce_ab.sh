#!/usr/bin/env bash
# Produce throughput of two variants in the same run against the same broker: kcat (librdkafka)
# sends 1,000,000 × 100 B messages with acks=all to a topic of variant A and one of variant B,
# ROUNDS times, alternating which goes first so page-cache writeback and other load on the
# machine fall on both alike. For each run it prints msgs/s and the CPU seconds per million
# messages of the broker (/proc/PID/stat) and of kcat (/usr/bin/time), so a difference can be
# placed on the side that causes it. Every topic is read back and must hold exactly 1,000,000.
#
#   MODE=idempotence: A = plain producer, B = enable.idempotence=true (issue #5)
#   MODE=backlog:     A = plain topic, B = topic with a backlog cap that never binds
#                     (max.backlog.messages=10^12, reference = slowest group, 3 groups with
#                     commits), i.e. the cost of the check itself (issue #4)
#
# Needs: a built broker (WHARF, default target/ci/wharf), kcat, /usr/bin/time, bc.
#
#   MODE=backlog benchmarks/produce_ab.sh [DATA_DIR] [ROUNDS]     (default target/bench-ab, 5)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WHARF=${WHARF:-target/ci/wharf}
MODE=${MODE:-idempotence}
DIR=${1:-target/bench-ab}
ROUNDS=${2:-5}
PORT=39093
B=127.0.0.1:$PORT
COUNT=1000000
rm -rf "$DIR" && mkdir -p "$DIR"

echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(df -h "$DIR" | awk 'NR==2 {print $1}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kcat $(kcat -V | grep -m1 -o 'Version [0-9.]*'), $(kcat -V | grep -m1 -o 'librdkafka [0-9.]*'); broker $WHARF; mode $MODE"
printf 'x%.0s' $(seq 99) | awk -v n=$COUNT '{for (i = 0; i < n; i++) print}' > "$DIR/m100.txt"

RUST_LOG=warn "$WHARF" serve --listen "$B" --data-dir "$DIR/data" 2> "$DIR/broker.log" &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
sleep 1
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{printf "%.3f", ($14 + $15) / t}' /proc/$BROKER/stat; }

# Creates the topic of variant $2 (A or B) named $1, and returns the extra kcat flags for it.
prepare() {
    case "$MODE/$2" in
        idempotence/A) echo "-X enable.idempotence=false" ;;
        idempotence/B) echo "-X enable.idempotence=true" ;;
        backlog/A)
            "$WHARF" topic create "$1" --bootstrap-server $B > /dev/null
            echo "-X enable.idempotence=false" ;;
        backlog/B)
            "$WHARF" topic create "$1" --bootstrap-server $B --config max.backlog.messages=1000000000000 > /dev/null
            for g in a b c; do
                echo "x" | "$WHARF" produce "$1" --bootstrap-server $B --partition 0
                "$WHARF" consume "$1" --bootstrap-server $B --group "$1-$g" --from-beginning --partition 0 --max-messages 1 > /dev/null
            done
            echo "-X enable.idempotence=false" ;;
        *) echo "unknown MODE $MODE" >&2; exit 2 ;;
    esac
}

# Prints "msgs/s broker-cpu-s/M kcat-cpu-s/M" for one run; $1 topic, $2 variant.
run() {
    local s0 s1 c0 c1 got flags before
    flags=$(prepare "$1" "$2")
    before=$(kcat -C -b $B -t "$1" -o beginning -e -q -f '\n' 2>/dev/null | wc -l || true)
    c0=$(cpu); s0=$(date +%s.%N)
    # shellcheck disable=SC2086 # $flags is split on purpose
    /usr/bin/time -o "$DIR/time" -f "%U %S" kcat -P -b $B -t "$1" -p 0 -X linger.ms=5 -X batch.size=1000000 \
        -X acks=all $flags \
        -X queue.buffering.max.messages=2000000 -X queue.buffering.max.kbytes=2097151 -l "$DIR/m100.txt"
    s1=$(date +%s.%N); c1=$(cpu)
    got=$(kcat -C -b $B -t "$1" -o beginning -e -q -f '\n' | wc -l)
    [ "$got" -eq $((COUNT + before)) ] || { echo "topic $1 holds $got messages, expected $((COUNT + before))" >&2; exit 1; }
    awk -v n=$COUNT -v w="$(echo "$s1 - $s0" | bc)" -v b="$(echo "$c1 - $c0" | bc)" \
        '{printf "%.0f %.3f %.3f\n", n / w, b * 1e6 / n, ($1 + $2) * 1e6 / n}' "$DIR/time"
}

for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then
        a=$(run "a-$round" A); b=$(run "b-$round" B)
    else
        b=$(run "b-$round" B); a=$(run "a-$round" A)
    fi
    echo "$a $b" | awk -v r="$round" '{printf "round %d: A %8.0f msgs/s (CPU per M: broker %.2f s, kcat %.2f s), B %8.0f msgs/s (broker %.2f s, kcat %.2f s); B/A %.3f\n", r, $1, $2, $3, $4, $5, $6, $4 / $1}'
done
