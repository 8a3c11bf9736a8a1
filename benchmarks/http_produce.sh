#!/usr/bin/env bash
# HTTP produce throughput beside Kafka-protocol produce, same broker, same run (issue #7).
#
#   kafka:    `wharf bench produce` (Kafka protocol, acks=all), 100 B values, batches of about
#             100 records (--batch-size 12000), PRODUCERS connections.
#   http-100: wrk POSTs /v1/topics/T/records with 100 records of 100 B (format text) per request
#             over CONNS keep-alive connections: records/s = requests/s x 100.
#   http-1:   the same with one record per request (the per-request cost).
# Each variant runs ROUNDS times, alternating, each for SECONDS; medians are reported with the
# ratio to the Kafka-protocol figure. Every HTTP request must answer 200 (wrk's non-2xx count).
#
# Needs: WHARF (default target/ci/wharf), wrk (Debian package), python3.
#
#   benchmarks/http_produce.sh [DATA_DIR] [ROUNDS] [SECONDS]   (default target/bench-http, 3, 10)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WHARF=${WHARF:-target/ci/wharf}
DIR=${1:-target/bench-http}
ROUNDS=${2:-3}
SECONDS_EACH=${3:-10}
CONNS=${CONNS:-8}
PRODUCERS=${PRODUCERS:-1}
KAFKA=127.0.0.1:39094
HTTP=127.0.0.1:39095
rm -rf "$DIR" && mkdir -p "$DIR"

echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "broker $WHARF; wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); $CONNS HTTP connections, $PRODUCERS Kafka producer connection(s)"

RUST_LOG=warn "$WHARF" serve --listen "$KAFKA" --http-listen "$HTTP" --data-dir "$DIR/data" 2> "$DIR/broker.log" &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
sleep 1

# A wrk script posting a fixed body of $1 records.
wrk_script() {
    python3 - "$1" > "$DIR/post-$1.lua" <<'PY'
import json, sys
n = int(sys.argv[1])
body = json.dumps({"format": "text", "records": [{"value": "x" * 100} for _ in range(n)]})
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = " + json.dumps(body))
PY
}
wrk_script 100
wrk_script 1

# records/s of one HTTP run: $1 records per request, $2 topic.
http_run() {
    curl -s -XPOST "http://$HTTP/v1/topics" -d "{\"name\":\"$2\"}" > /dev/null
    local out
    out=$(wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" -s "$DIR/post-$1.lua" "http://$HTTP/v1/topics/$2/records")
    if echo "$out" | grep -q "Non-2xx"; then echo "HTTP errors: $out" >&2; exit 1; fi
    echo "$out" | awk -v n="$1" '/Requests\/sec/ {printf "%.0f\n", $2 * n}'
}

kafka_run() {
    "$WHARF" bench produce --bootstrap "$KAFKA" --topic "$1" --message-size 100 --batch-size 12000 \
        --duration "$SECONDS_EACH" --acks all --producers "$PRODUCERS" --json 2>/dev/null \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["msgs_per_sec"]))'
}

declare -a K H100 H1
for r in $(seq "$ROUNDS"); do
    K+=("$(kafka_run "kafka-$r")")
    H100+=("$(http_run 100 "http100-$r")")
    H1+=("$(http_run 1 "http1-$r")")
    echo "round $r: kafka ${K[-1]} rec/s, http x100 ${H100[-1]} rec/s, http x1 ${H1[-1]} rec/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
k=$(median "${K[@]}"); h100=$(median "${H100[@]}"); h1=$(median "${H1[@]}")
echo "median: kafka $k rec/s; http 100/request $h100 rec/s ($(echo "scale=2; $h100/$k" | bc)x); http 1/request $h1 rec/s ($(echo "scale=3; $h1/$k" | bc)x)"
