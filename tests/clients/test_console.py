"""The built-in web console in headless Chromium, against a real broker fed by confluent-kafka.

Debian's chromium (/usr/bin/chromium, or $WHARF_CHROMIUM) is driven by Playwright; Playwright's
own browser downloads are never used. Every assertion reads what a person sees on the page:

- Topics: the list shows exactly the topics confluent-kafka created, with their partition counts;
  a topic created with the console's form exists for confluent-kafka with its partitions, and one
  deleted with the console is gone for it; a topic's page shows each partition's offsets and
  segments and the topic's configs.
- Consumer groups: a group whose confluent-kafka member committed offset 3 of 10 on each of two
  partitions shows lag 7 and 7 (total 14), its member's client id, host and assignment; after the
  member commits what it consumed, the same page shows committed offset 10 and lag 0, and the live
  chart's legend follows (14, then 0).
- Messages: records produced with the console's form (JSON and text) and with confluent-kafka
  (JSON and binary) appear in the message browser with their exact keys and values, as text,
  pretty-printed JSON and hex, and a search by timestamp starts at the right record.

Screenshots of each page go to tests/clients/artifacts/console/ ($WHARF_ARTIFACTS overrides it);
their paths are printed (`-s` shows them).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer, TopicPartition
from playwright.sync_api import Page, expect, sync_playwright

from librdkafka_client import admin_client, assert_all_delivered, create_topic, produce_all, producer_config
from librdkafka_group import Member, poll_until

CHROMIUM = Path(os.environ.get("WHARF_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("WHARF_ARTIFACTS", Path(__file__).parent / "artifacts")) / "console"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# How long the page may take to show something (it refreshes group lag every second).
SHOW_TIMEOUT_MS = 15_000


@pytest.fixture
def page(request):
    """A fresh Chromium page in UTC; JavaScript errors on the page fail the test."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: scripts/test installs Debian's chromium (or set WHARF_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
        page = context.new_page()
        page.set_default_timeout(SHOW_TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        yield page
        browser.close()
    assert errors == [], f"JavaScript errors on the console page: {errors}"


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def cells(page: Page, rows: str, key: str, testid: str) -> dict[str, str]:
    """{row's `key` attribute: text of its [data-testid=testid] cell} for the rows matching `rows`."""
    return {row.get_attribute(key): row.get_by_test_id(testid).inner_text() for row in page.locator(rows).all()}


def topic_names(bootstrap: str) -> set[str]:
    return {t for t in admin_client(bootstrap).list_topics(timeout=10).topics if not t.startswith("__")}


def test_console_lists_creates_describes_and_deletes_topics(broker, page):
    create_topic(broker.bootstrap, "console-orders", 3)
    create_topic(broker.bootstrap, "console-audit", 1, {"retention.ms": "60000"})
    producer = Producer(producer_config(broker.bootstrap))
    assert_all_delivered(produce_all(producer, "console-audit", ({"value": f"audit-{i}".encode()} for i in range(5))))

    page.goto(f"{broker.http_url}/")
    rows = page.locator("[data-testid=topic-row]")
    expect(rows).to_have_count(2)
    assert cells(page, "[data-testid=topic-row]", "data-topic", "topic-partitions") == {"console-audit": "1", "console-orders": "3"}
    screenshot(page, "topics")

    page.fill("#create-topic-name", "console-made")
    page.fill("#create-topic-partitions", "4")
    page.click("#create-topic-submit")
    expect(page.get_by_test_id("topic-created")).to_have_text("Created topic console-made with 4 partition(s).")
    expect(page.locator("tr[data-topic=console-made] [data-testid=topic-partitions]")).to_have_text("4")
    meta = admin_client(broker.bootstrap).list_topics(topic="console-made", timeout=10).topics["console-made"]
    assert len(meta.partitions) == 4

    # Creating it again is refused, and the page says why.
    page.fill("#create-topic-name", "console-made")
    page.click("#create-topic-submit")
    expect(page.locator("#error")).to_contain_text("TOPIC_ALREADY_EXISTS")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("tr[data-topic=console-made] [data-testid=delete-topic]")
    expect(page.get_by_test_id("topic-deleted")).to_have_text("Deleted topic console-made.")
    expect(rows).to_have_count(2)
    assert topic_names(broker.bootstrap) == {"console-audit", "console-orders"}

    page.click("tr[data-topic=console-audit] [data-testid=topic-name]")
    partition = page.locator("#partitions-table tr[data-partition='0']")
    expect(partition.get_by_test_id("high-watermark")).to_have_text("5")
    expect(partition.get_by_test_id("log-start-offset")).to_have_text("0")
    expect(partition.get_by_test_id("segments")).to_have_text("1")
    expect(page.locator("#configs-table tr[data-config='retention.ms'] [data-testid=config-value]")).to_have_text("60000")
    screenshot(page, "topic")

    # The subscriptions page renders whether or not this broker offers push delivery.
    page.click("#nav a[data-page=subscriptions]")
    expect(page.locator("#subscriptions-unavailable, #subscriptions-table")).to_have_count(1)


def test_console_shows_group_lag_going_down_after_consumer_commits(broker, page):
    topic, group = "console-lag", f"console-{uuid.uuid4()}"
    create_topic(broker.bootstrap, topic, 2)
    producer = Producer(producer_config(broker.bootstrap))
    messages = ({"value": f"v-{p}-{i}".encode(), "partition": p} for p in range(2) for i in range(10))
    assert_all_delivered(produce_all(producer, topic, messages))

    member = Member(broker.bootstrap, group, topic, **{"client.id": "console-reader"})
    try:
        poll_until([member], lambda: member.assigned == {0, 1} and len(member.records) == 20, "20 records")
        member.consumer.commit(offsets=[TopicPartition(topic, p, 3) for p in range(2)], asynchronous=False)

        page.goto(f"{broker.http_url}/#/groups")
        expect(page.locator(f"tr[data-group='{group}'] [data-testid=group-state]")).to_have_text("Stable")
        page.click(f"tr[data-group='{group}'] a")
        expect(page.locator("#total-lag")).to_have_text("14")
        assert cells(page, "[data-testid=lag-row]", "data-partition", "lag") == {"0": "7", "1": "7"}
        assert cells(page, "[data-testid=lag-row]", "data-partition", "committed-offset") == {"0": "3", "1": "3"}
        assert cells(page, "[data-testid=lag-row]", "data-partition", "high-watermark") == {"0": "10", "1": "10"}
        expect(page.locator(f"#lag-legend li[data-topic='{topic}'] [data-testid=legend-lag]")).to_have_text("14")
        member_row = page.locator("tr[data-client-id='console-reader']")
        expect(member_row.get_by_test_id("member-assignments")).to_have_text(f"{topic}: 0, 1")
        expect(member_row.get_by_test_id("member-host")).to_contain_text("127.0.0.1")
        expect(page.locator("#group-state")).to_have_text("Stable")
        screenshot(page, "group-lag-before")

        member.consumer.commit(asynchronous=False)  # the positions after all 20 records: 10 and 10
        expect(page.locator("#total-lag")).to_have_text("0")
        assert cells(page, "[data-testid=lag-row]", "data-partition", "lag") == {"0": "0", "1": "0"}
        assert cells(page, "[data-testid=lag-row]", "data-partition", "committed-offset") == {"0": "10", "1": "10"}
        expect(page.locator(f"#lag-legend li[data-topic='{topic}'] [data-testid=legend-lag]")).to_have_text("0")
        # The chart drew the drop: its line has a point for every refresh, the newest at lag 0.
        points = page.locator(f"#lag-chart polyline[data-series='{topic}']").get_attribute("points").split()
        assert len(points) >= 2
        baseline = page.locator("#lag-chart line.axis").get_attribute("y1")
        assert float(points[-1].split(",")[1]) == pytest.approx(float(baseline))
        assert float(points[0].split(",")[1]) < float(baseline)
        screenshot(page, "group-lag-after")
    finally:
        member.consumer.close()


def test_console_produce_form_and_kafka_records_appear_in_message_browser(broker, page):
    topic = "console-messages"
    create_topic(broker.bootstrap, topic, 1)
    producer = Producer(producer_config(broker.bootstrap))
    assert_all_delivered(produce_all(producer, topic, [
        {"key": b"order-1", "value": b'{"sku":42,"name":"kayak"}', "timestamp": 1_700_000_000_000},
        {"key": b"blob", "value": b"\x00\x01\xfe\xff", "timestamp": 1_700_000_010_000},
    ]))

    page.goto(f"{broker.http_url}/#/produce")
    page.select_option("#produce-topic", topic)
    page.fill("#produce-key", "order-2")
    page.fill("#produce-value", '{"sku": 7, "tags": ["a", "b"]}')
    page.click("#produce-submit")
    result = page.get_by_test_id("produce-ok")
    expect(result).to_have_attribute("data-offset", "2")
    expect(result).to_contain_text("Written to partition 0 at offset 2.")
    screenshot(page, "produce")
    page.select_option("#produce-format", "text")
    page.fill("#produce-key", "")
    page.fill("#produce-value", "hello from the console")
    page.click("#produce-submit")
    expect(result).to_have_attribute("data-offset", "3")

    page.click("#nav a[data-page=browse]")
    page.select_option("#browse-topic", topic)
    page.click("#browse-submit")
    values = "#records-table [data-testid=record]"
    expect(page.locator(values)).to_have_count(4)
    assert cells(page, values, "data-offset", "record-key") == {"0": "order-1", "1": "blob", "2": "order-2", "3": "null"}
    shown = {o: page.locator(f"{values}[data-offset='{o}'] [data-testid=record-value] pre").inner_text() for o in "023"}
    assert shown == {"0": '{"sku":42,"name":"kayak"}', "2": '{"sku":7,"tags":["a","b"]}', "3": "hello from the console"}

    # Switching the view redraws at once (no fetch); inner_text keeps the exact whitespace.
    page.select_option("#browse-format", "json")
    pretty = page.locator(f"{values}[data-offset='2'] [data-testid=record-value] pre")
    assert pretty.inner_text() == '{\n  "sku": 7,\n  "tags": [\n    "a",\n    "b"\n  ]\n}'
    screenshot(page, "browse-json")
    page.select_option("#browse-format", "hex")
    assert page.locator(f"{values}[data-offset='1'] [data-testid=record-value] pre").inner_text() == "000000  00 01 fe ff"

    # From a timestamp: the first record at or after 22:13:25 UTC is the binary one at 22:13:30.
    page.select_option("#browse-from", "timestamp")
    page.fill("#browse-timestamp", "2023-11-14T22:13:25")
    page.click("#browse-submit")
    expect(page.locator(values).first).to_have_attribute("data-offset", "1")
    expect(page.locator(values)).to_have_count(3)
    screenshot(page, "browse-timestamp")
