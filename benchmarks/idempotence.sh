#!/usr/bin/env bash
# Idempotent vs plain produce throughput (issue #5): benchmarks/produce_ab.sh with MODE=idempotence
# (A = plain, B = idempotent).
#
#   benchmarks/idempotence.sh [DATA_DIR] [ROUNDS]     (default target/bench-idem, 5)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODE=idempotence exec benchmarks/produce_ab.sh "${1:-target/bench-idem}" "${2:-5}"
