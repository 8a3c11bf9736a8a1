"""Fixtures for the real-client suite: a real `wharf serve` per test, on 127.0.0.1:0, in a temp dir.

`broker` starts one broker with the flags from an optional `@pytest.mark.wharf_args(...)` marker;
`broker_factory` starts any number with explicit flags. Every broker's stdout and stderr go to a log
file in the test's tmp dir, attached to the report of a failing test. Brokers still running at the
end of a test get SIGTERM; one that does not exit in time fails the test.
"""

from __future__ import annotations

import pytest

from broker_process import BrokerProcess, wharf_binary


def pytest_configure(config):
    config.addinivalue_line("markers", "wharf_args(*flags): extra `wharf serve` flags for the `broker` fixture")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for broker in getattr(item, "_wharf_brokers", []):
            report.sections.append((f"wharf log ({broker.log_path})", broker.log_tail()))


@pytest.fixture
def broker_factory(request, tmp_path):
    """start(*flags) -> BrokerProcess, each with its own data dir and log under tmp_path."""
    binary = wharf_binary()
    if not binary.is_file():
        pytest.fail(f"broker binary {binary} not found: run `cargo build --release -p wharf` or set WHARF_BIN")
    brokers: list[BrokerProcess] = []
    request.node._wharf_brokers = brokers

    def start(*flags: str) -> BrokerProcess:
        index = len(brokers)
        broker = BrokerProcess(binary, tmp_path / f"data-{index}", tmp_path / f"wharf-{index}.log", list(flags))
        brokers.append(broker)
        return broker.start()

    yield start

    problems = []
    for broker in brokers:
        try:
            broker.stop()
        except AssertionError as err:
            problems.append(str(err))
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def broker(request, broker_factory) -> BrokerProcess:
    marker = request.node.get_closest_marker("wharf_args")
    return broker_factory(*(marker.args if marker else ()))
