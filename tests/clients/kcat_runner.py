"""Running Debian's kcat (1.7.1, librdkafka 2.0.2) against the broker under test.

Owns: locating kcat ($KCAT_BIN or PATH), a hard timeout on every run, and turning a non-zero exit
into an assertion that shows kcat's stderr. Does not parse kcat's output; the tests do, since
each asks for its own -f format.
"""

from __future__ import annotations

import os
import shutil
import subprocess

# kcat waits this long (seconds) for metadata before giving up (-m); the default 5 s is too
# tight for a busy 2-core CI machine and too long to notice a broker that never answers.
METADATA_TIMEOUT_S = 15


def kcat_binary() -> str:
    path = os.environ.get("KCAT_BIN") or shutil.which("kcat")
    if not path:
        raise AssertionError("kcat not found: run scripts/test (it installs Debian's kcat) or set KCAT_BIN")
    return path


def run_kcat(
    bootstrap: str,
    args: list[str],
    *,
    input: bytes | None = None,
    timeout: float = 60.0,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run `kcat -b BOOTSTRAP -m 15 ARGS...`; stdout and stderr come back as bytes.

    A run past `timeout` seconds is killed and fails the test: a hung kcat usually means the broker
    stopped answering a request, which is exactly what these tests are looking for.
    """
    cmd = [kcat_binary(), "-b", bootstrap, "-m", str(METADATA_TIMEOUT_S), *args]
    # An empty config file keeps a developer's ~/.config/kcat.conf out of the test.
    env = dict(os.environ, KCAT_CONFIG=os.devnull)
    try:
        result = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as err:
        stderr = (err.stderr or b"").decode("utf-8", "replace")[-4000:]
        raise AssertionError(f"kcat timed out after {timeout}s: {' '.join(cmd)}\nstderr:\n{stderr}") from None
    if check and result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace")[-4000:]
        raise AssertionError(f"kcat exited {result.returncode}: {' '.join(cmd)}\nstderr:\n{stderr}")
    return result
