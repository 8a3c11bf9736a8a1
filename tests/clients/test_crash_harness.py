"""The crash harness (crash_harness.py) for 20 cycles in CI: kill -9 under idempotent and plain
acks=all load, segment rolls, retention, compaction passes and synchronous offset commits; every check of the harness
must hold in every cycle (zero violations). Long runs: crash_harness.py --cycles 200.
Replay a run with WHARF_CRASH_SEED=<seed printed below>.
"""

from __future__ import annotations

import logging
import os
import random

import pytest

from broker_process import wharf_binary
from crash_harness import run

CYCLES = 20


@pytest.mark.timeout(900)
def test_crash_harness_20_cycles_zero_violations(tmp_path):
    seed = int(os.environ.get("WHARF_CRASH_SEED", random.randrange(2**32)))
    print(f"WHARF_CRASH_SEED={seed}")
    logging.getLogger("librdkafka").setLevel(logging.CRITICAL)
    assert run(CYCLES, seed, wharf_binary(), tmp_path) == 0
