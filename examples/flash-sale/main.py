"""Run the flash sale and print what happened; writes flash-sale.png beside this file.

    .venv/bin/python examples/flash-sale/main.py [--bootstrap HOST:PORT] [--orders N] [--rate N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flash_sale import QUEUE_MAX, plot, run_flash_sale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=2_000, help="orders fulfilled per second")
    parser.add_argument("--plot", default=str(Path(__file__).with_name("flash-sale.png")))
    args = parser.parse_args()

    out = run_flash_sale(args.bootstrap, args.orders, args.rate)
    peak = max(out.timeline.backlog, default=0)
    print(f"burst of {args.orders} orders took {out.burst_s:.2f} s")
    print(f"accepted  {len(out.accepted)}")
    print(f"rejected  {out.rejected}  (POLICY_VIOLATION: the queue was full)")
    print(f"processed {len(out.processed)}")
    print(f"peak backlog {peak} (cap {QUEUE_MAX}), sampled every 100 ms")
    if out.refusal_latency_s:
        lat = sorted(out.refusal_latency_s)
        p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, len(lat) * 99 // 100)]
        print(f"refusal latency (produce() to delivery report): p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    plot(out.timeline, QUEUE_MAX, args.plot)
    print(f"plot written to {args.plot}")
    ok = (len(out.accepted) + out.rejected == args.orders and out.processed == out.accepted and peak <= QUEUE_MAX)
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
