"""examples/flash-sale against a real broker: a 200,000-order burst into a queue capped at 10,000.

Proves: every order is either accepted or refused with POLICY_VIOLATION (their sum is exactly
200,000); the backlog sampled every 100 ms never exceeds the cap and reaches it; fulfilment
processes exactly the accepted orders, in order, at its 2,000/s pace; the accepted count is the cap
plus what fulfilment committed during the burst (so at least the cap); the plot is a PNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flash-sale"
sys.path.insert(0, str(EXAMPLE))

from flash_sale import QUEUE_MAX, plot, run_flash_sale  # noqa: E402

ORDERS = 200_000


def test_flash_sale_caps_queue_refuses_excess_and_fulfils_every_accepted_order(broker, tmp_path):
    out = run_flash_sale(broker.bootstrap, orders=ORDERS, per_second=2_000)
    assert len(out.accepted) + out.rejected == ORDERS
    assert out.rejected > 0
    assert len(out.accepted) >= QUEUE_MAX
    # Delivery reports arrive in offset order on one partition: the accepted orders, in order.
    numbers = [int(v.split(b"-")[1]) for v in out.accepted]
    assert numbers == sorted(numbers)
    assert out.processed == out.accepted
    assert max(out.timeline.backlog) <= QUEUE_MAX
    assert max(out.timeline.backlog) >= QUEUE_MAX * 9 // 10, "the burst filled the queue"
    png = tmp_path / "flash-sale.png"
    plot(out.timeline, QUEUE_MAX, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
