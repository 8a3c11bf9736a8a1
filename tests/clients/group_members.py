"""Consumer-group members as child processes, one kind per real client, reporting what they get.

Owns: the member line protocol, starting a member of each client (kafka-python, `kcat -G`, KafkaJS)
with the suite's short session settings, reading what it reports on background threads, stopping it
gracefully (SIGTERM: the client leaves the group) or as a crash (SIGKILL: it never says goodbye),
and the split check every group test uses.

The protocol: a member prints one JSON object per stdout line, `{"event": "assigned", "partitions":
[...]}` with its whole new assignment, `{"event": "revoked", ...}` when it gives up its assignment,
and `{"event": "record", "partition", "offset", "value"}` per record. Every client here uses an
eager assignor (range or round-robin), so "assigned" replaces and "revoked" clears. kcat is not a
program of ours: its `-J` records and its stderr rebalance lines are translated into the same events.

Does not: produce, or decide what a scenario expects; test_group_clients.py does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from kcat_runner import METADATA_TIMEOUT_S, kcat_binary

# Short sessions keep failover quick; 6000 ms is the broker's (Kafka's) minimum session timeout.
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 500
WAIT_S = 60.0
# How long a member may take to exit after SIGTERM (commit, LeaveGroup, close).
STOP_TIMEOUT_S = 30.0

CLIENTS_DIR = Path(__file__).resolve().parent
JS_DIR = CLIENTS_DIR / "js"

# kcat (librdkafka) on stderr: `% Group G rebalanced (memberid M): assigned: t [0], t [3]`.
KCAT_REBALANCE_RE = re.compile(r"^% Group \S+ rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)$")
KCAT_PARTITION_RE = re.compile(r"\[(\d+)\]")


def is_split(members, partitions: int) -> bool:
    """Every partition assigned to exactly one member, and every member has its even share.

    `members` are anything with an `assigned` set of partition numbers."""
    sets = [m.assigned for m in members]
    union = set().union(*sets)
    share = partitions // len(members)
    return union == set(range(partitions)) and sum(map(len, sets)) == partitions and all(len(s) == share for s in sets)


class MemberProcess:
    """One group member in a child process and everything it has reported so far."""

    def __init__(self, name: str, argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None):
        self.name = name
        self.assigned: set[int] = set()
        self.records: list[tuple[int, int, str]] = []
        self.protocol_errors: list[str] = []
        self.stderr_tail: deque[str] = deque(maxlen=200)
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self._stdout_event), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self._stderr_event), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, to_event) -> None:
        for line in stream:
            event = to_event(line.rstrip("\n"))
            if event is not None:
                self._apply(event)

    def _stdout_event(self, line: str) -> dict | None:
        try:
            return json.loads(line)
        except ValueError:
            self.protocol_errors.append(line)
            return None

    def _stderr_event(self, line: str) -> dict | None:
        self.stderr_tail.append(line)
        return None

    def _apply(self, event: dict) -> None:
        kind = event.get("event")
        # Replacing whole objects keeps readers on the test thread from seeing a half-made set.
        if kind == "assigned":
            self.assigned = set(event["partitions"])
        elif kind == "revoked":
            self.assigned = set()
        elif kind == "record":
            self.records.append((event["partition"], event["offset"], event["value"]))
        else:
            self.protocol_errors.append(json.dumps(event))

    def check(self) -> None:
        """Fail if the member died or printed something outside the protocol."""
        assert not self.protocol_errors, (
            f"{self.name}: not protocol lines: {self.protocol_errors[:5]}\n{self.diagnostics()}"
        )
        code = self.proc.poll()
        assert code is None, f"{self.name} exited with {code}\n{self.diagnostics()}"

    def diagnostics(self) -> str:
        return f"----- {self.name} stderr (tail) -----\n" + "\n".join(self.stderr_tail)

    def terminate(self) -> None:
        """SIGTERM: the client commits, leaves the group and exits 0."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} did not exit within {STOP_TIMEOUT_S}s of SIGTERM\n{self.diagnostics()}")
        self._drain()
        assert code == 0, f"{self.name} exited {code} after SIGTERM\n{self.diagnostics()}"

    def kill9(self) -> None:
        """SIGKILL: no commit, no LeaveGroup; only the session timeout tells the broker."""
        self.proc.kill()
        self.proc.wait()
        self._drain()

    def close(self) -> None:
        """Teardown: whatever state the member is in, it is gone afterwards."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._drain()

    def _drain(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)


class KcatMember(MemberProcess):
    """`kcat -G`: records come as `-J` JSON on stdout (`-u`: unbuffered, one line at a time, as a
    pipe would otherwise hold them back), rebalances as text on stderr."""

    def _stdout_event(self, line: str) -> dict | None:
        try:
            msg = json.loads(line)
            return {"event": "record", "partition": msg["partition"], "offset": msg["offset"], "value": msg["payload"]}
        except (ValueError, KeyError):
            self.protocol_errors.append(line)
            return None

    def _stderr_event(self, line: str) -> dict | None:
        self.stderr_tail.append(line)
        match = KCAT_REBALANCE_RE.match(line)
        if match is None:
            return None
        return {"event": match.group(1), "partitions": [int(p) for p in KCAT_PARTITION_RE.findall(match.group(2))]}


def kafka_python_member(bootstrap: str, group: str, topic: str, session_timeout_ms: int) -> MemberProcess:
    program = CLIENTS_DIR / "members" / "kafka_python_member.py"
    argv = [sys.executable, str(program), bootstrap, group, topic, str(session_timeout_ms), str(HEARTBEAT_INTERVAL_MS)]
    return MemberProcess("kafka-python", argv)


def kcat_member(bootstrap: str, group: str, topic: str, session_timeout_ms: int) -> MemberProcess:
    settings = {
        "client.id": f"kcat-{group}",
        "session.timeout.ms": session_timeout_ms,
        "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
        "auto.offset.reset": "earliest",
        # kcat commits automatically; a short interval means offsets reach the log end soon after
        # the records do (librdkafka also commits on revoke and on close).
        "auto.commit.interval.ms": 100,
        "fetch.wait.max.ms": 100,
    }
    argv = [kcat_binary(), "-b", bootstrap, "-m", str(METADATA_TIMEOUT_S), "-G", group, topic, "-J", "-u"]
    for key, value in settings.items():
        argv += ["-X", f"{key}={value}"]
    # An empty config file keeps a developer's ~/.config/kcat.conf out of the test.
    return KcatMember("kcat", argv, env=dict(os.environ, KCAT_CONFIG=os.devnull))


def kafkajs_member(bootstrap: str, group: str, topic: str, session_timeout_ms: int) -> MemberProcess:
    if not (JS_DIR / "node_modules" / "kafkajs").is_dir():
        raise AssertionError(f"KafkaJS not installed: run `npm ci` in {JS_DIR} (scripts/test does)")
    argv = ["node", "group_member.js", bootstrap, group, topic, str(session_timeout_ms), str(HEARTBEAT_INTERVAL_MS)]
    return MemberProcess("kafkajs", argv, cwd=JS_DIR)


MEMBER_CLIENTS = {"kafka-python": kafka_python_member, "kcat": kcat_member, "kafkajs": kafkajs_member}


def wait_for(members: list[MemberProcess], done, what: str, timeout: float = WAIT_S) -> None:
    """Wait until `done()`, failing at once if a member dies, and after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        for m in members:
            m.check()
        if time.monotonic() > deadline:
            state = ", ".join(f"{m.name}:{sorted(m.assigned)}/{len(m.records)} records" for m in members)
            logs = "\n".join(m.diagnostics() for m in members)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}: {state}\n{logs}")
        time.sleep(0.05)
