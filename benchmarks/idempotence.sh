#!/usr/bin/env bash
# Idempotent vs plain produce throughput, in the same run against the same broker (issue #5): kcat
# (librdkafka) sends 1,000,000 × 100 B messages with acks=all three ways, ROUNDS times, rotating
# which goes first so page-cache writeback and other load on the machine fall on all alike:
#   plain      enable.idempotence=false, librdkafka's default window (max.in.flight 1,000,000)
#   plain-5    enable.idempotence=false, max.in.flight=5: the window idempotence imposes
#   idem       enable.idempotence=true (librdkafka caps max.in.flight at 5)
# idem / plain is what a client sees; idem / plain-5 isolates the broker's cost of checking
# sequences, as does the broker CPU per million messages (from /proc/PID/stat) printed for each.
# Needs: a built broker (WHARF, default target/ci/wharf) and kcat.
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

echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(df -h "$DIR" | awk 'NR==2 {print $1}')"
echo "kcat $(kcat -V | grep -m1 -o 'Version [0-9.]*'), $(kcat -V | grep -m1 -o 'librdkafka [0-9.]*'); broker $WHARF"
printf 'x%.0s' $(seq 99) | awk -v n=$COUNT '{for (i = 0; i < n; i++) print}' > "$DIR/m100.txt"

RUST_LOG=warn "$WHARF" serve --listen "$B" --data-dir "$DIR/data" 2> "$DIR/broker.log" &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
sleep 1

TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{printf "%.3f", ($14 + $15) / t}' /proc/$BROKER/stat; }

# Prints "msgs/s broker-CPU-seconds-per-million" for one kcat run; $1 topic, then kcat -X options.
run() {
    local topic=$1 s0 s1 c0 c1 got
    shift
    c0=$(cpu); s0=$(date +%s.%N)
    kcat -P -b $B -t "$topic" -X linger.ms=5 -X batch.size=1000000 -X acks=all "$@" \
        -X queue.buffering.max.messages=2000000 -X queue.buffering.max.kbytes=2097151 -l "$DIR/m100.txt"
    s1=$(date +%s.%N); c1=$(cpu)
    got=$(kcat -C -b $B -t "$topic" -o beginning -e -q -f '\n' | wc -l)
    [ "$got" -eq $COUNT ] || { echo "topic $topic holds $got messages, expected $COUNT" >&2; exit 1; }
    echo "$(echo "$COUNT / ($s1 - $s0)" | bc) $(echo "($c1 - $c0) * 1000000 / $COUNT" | bc -l)"
}

declare -A CONF=(
    [plain]="-X enable.idempotence=false"
    [plain-5]="-X enable.idempotence=false -X max.in.flight=5"
    [idem]="-X enable.idempotence=true"
)
ORDERS=("plain plain-5 idem" "idem plain plain-5" "plain-5 idem plain")
for round in $(seq "$ROUNDS"); do
    declare -A R=()
    for kind in ${ORDERS[$(((round - 1) % 3))]}; do
        # shellcheck disable=SC2086 # CONF values are option lists
        R[$kind]=$(run "$kind-$round" ${CONF[$kind]})
    done
    echo "${R[plain]} ${R[plain-5]} ${R[idem]}" | awk -v r="$round" '{printf "round %d: plain %8.0f msgs/s (cpu %.3f s/M), plain-5 %8.0f (cpu %.3f), idem %8.0f (cpu %.3f); idem/plain %.3f, idem/plain-5 %.3f\n", r, $1, $2, $3, $4, $5, $6, $5 / $1, $5 / $3}'
done
