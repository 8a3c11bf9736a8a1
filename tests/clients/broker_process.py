"""One `wharf serve` child process driven by the integration tests.

Owns: starting the real binary on 127.0.0.1 (port 0 the first time, the same port on restart),
finding the bound address in its log, stopping it gracefully (SIGTERM) or brutally (SIGKILL), and
keeping everything it printed in one log file so a failing test can show it.

Does not: create topics or talk Kafka; that is the tests' job, through real clients.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# The broker logs e.g. `wharf listening on 127.0.0.1:40123` once its listener is bound.
LISTENING_RE = re.compile(r"listening on (\S+)")
# The HTTP gateway logs `wharf http on 127.0.0.1:40124` before the Kafka line.
HTTP_RE = re.compile(r"wharf http on (\S+)")
# Pulls host:port out of whatever `\S+` caught (it may carry quotes or a trailing comma).
ADDRESS_RE = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|localhost):(\d{1,5})")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")

# How long a broker may take to bind and say so. Generous: a 2-core CI machine running the
# suite next to a release build can be slow to schedule a fresh process.
START_TIMEOUT_S = 30.0
# How long a SIGTERM may take to finish (flush, close segments) before the test calls it a hang.
STOP_TIMEOUT_S = 20.0
# A restart on the same port can race the old socket's teardown; retry the bind this long.
REBIND_RETRY_S = 10.0


def wharf_binary() -> Path:
    """The broker under test: $WHARF_BIN, else target/release/wharf in this repository."""
    env = os.environ.get("WHARF_BIN")
    return Path(env) if env else REPO_ROOT / "target" / "release" / "wharf"


class BrokerStartError(RuntimeError):
    pass


class BrokerProcess:
    """A running (or stopped) `wharf serve` with a fixed data dir and, after the first start, a fixed port."""

    def __init__(self, binary: Path, data_dir: Path, log_path: Path, extra_args: list[str]):
        self.binary = Path(binary)
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.extra_args = list(extra_args)
        self.host = "127.0.0.1"
        self.port: int | None = None
        # The HTTP gateway's port (port 0 the first time, like the Kafka port); None with
        # `--http-listen off` among the extra args.
        self.http_port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise RuntimeError("broker has not been started")
        return f"{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        if self.http_port is None:
            raise RuntimeError("broker has no HTTP gateway (not started, or --http-listen off)")
        return f"http://{self.host}:{self.http_port}"

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "BrokerProcess":
        """Start the broker; the first start binds port 0, later ones the port it got then."""
        if self.is_running():
            raise RuntimeError("broker is already running")
        deadline = time.monotonic() + REBIND_RETRY_S
        while True:
            try:
                self._start_once()
                return self
            except BrokerStartError as err:
                # Only a restart on a fixed port can lose a bind race; anything else is a real failure.
                if self.port is None or "in use" not in str(err).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _start_once(self) -> None:
        listen = f"{self.host}:{self.port if self.port is not None else 0}"
        args = [str(self.binary), "serve", "--listen", listen, "--data-dir", str(self.data_dir)]
        if "--http-listen" not in self.extra_args:
            args += ["--http-listen", f"{self.host}:{self.http_port if self.http_port is not None else 0}"]
        args += self.extra_args
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env.setdefault("RUST_BACKTRACE", "1")
        env["NO_COLOR"] = "1"
        # WHARF_* variables from the caller's shell must not override what the test asked for.
        for key in [k for k in env if k.startswith("WHARF_") and k != "WHARF_BIN"]:
            del env[key]

        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts + 1}: {' '.join(args)}\n".encode())
            log.flush()
            offset = log.tell()
            # stdout goes to the same file: whichever stream the broker logs to, we see it, in order.
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        self.starts += 1

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            text = ANSI_RE.sub("", self._read_from(offset))
            match = LISTENING_RE.search(text)
            if match:
                http = HTTP_RE.search(text)
                if http and (found := ADDRESS_RE.search(http.group(1))):
                    self.http_port = int(found.group(2))
                address = ADDRESS_RE.search(match.group(1))
                if not address:
                    self._abort()
                    raise BrokerStartError(f"cannot parse an address from {match.group(0)!r}\n{self.log_tail()}")
                port = int(address.group(2))
                if self.port is not None and port != self.port:
                    self._abort()
                    raise BrokerStartError(f"restart bound port {port}, expected {self.port}\n{self.log_tail()}")
                self.port = port
                return
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise BrokerStartError(f"wharf exited with {code} before listening\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self._abort()
                raise BrokerStartError(f"no 'listening on' line within {START_TIMEOUT_S}s\n{self.log_tail()}")
            time.sleep(0.02)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM and wait. Returns the exit code; a broker that ignores SIGTERM is killed and reported."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(f"wharf did not exit within {timeout}s of SIGTERM\n{self.log_tail()}")
        return proc.returncode

    def kill9(self) -> None:
        """SIGKILL: no flush, no shutdown hooks; what is on disk is what recovery gets."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def restart(self) -> "BrokerProcess":
        """Stop (gracefully, if still running) and start again on the same data dir and port."""
        if self.is_running():
            self.stop()
        return self.start()

    def _abort(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    # -- log ---------------------------------------------------------------------------------------

    def _read_from(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def log_tail(self, max_bytes: int = 64 * 1024) -> str:
        """The last `max_bytes` of everything the broker printed, across all its starts."""
        try:
            size = self.log_path.stat().st_size
        except FileNotFoundError:
            return "(no broker log)"
        text = self._read_from(max(0, size - max_bytes))
        header = f"----- wharf log {self.log_path} ({size} bytes{', tail' if size > max_bytes else ''}) -----\n"
        return header + text
