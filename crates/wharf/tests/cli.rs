//! The `wharf` client tools (topic, produce, consume, group) run as processes against the real
//! `wharf serve` binary on 127.0.0.1:0, asserting their exact JSON output and exit codes.
//!
//! The broker is a child process like any other broker the tools might face; its port is read
//! from its "listening on" log line, as tests/clients/broker_process.py does.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{json, Value};

const WHARF: &str = env!("CARGO_BIN_EXE_wharf");

/// A `wharf serve` child on a free port in a temp dir; killed when dropped.
struct Broker {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Best effort: the test is over, and the temp dir goes with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_broker() -> Broker {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 temp path").to_owned();
    let mut child = Command::new(WHARF)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "off",
            "--data-dir",
            &data_dir,
        ])
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wharf serve");
    let mut log = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut addr = None;
    let mut seen = String::new();
    let mut line = String::new();
    while addr.is_none() {
        line.clear();
        let n = log.read_line(&mut line).expect("read broker log");
        assert!(n > 0, "broker exited before listening:\n{seen}");
        seen.push_str(&line);
        addr = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned);
    }
    // Keep draining the log so the broker never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = log.read_to_end(&mut sink);
    });
    Broker {
        child,
        addr: addr.expect("loop ends with an address"),
        _dir: dir,
    }
}

impl Broker {
    /// Runs `wharf ARGS --bootstrap-server ADDR`, with `stdin` as standard input.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(WHARF)
            .args(args)
            .args(["--bootstrap-server", &self.addr])
            .env_remove("WHARF_BOOTSTRAP_SERVER")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wharf");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wharf finishes")
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "wharf {args:?} failed: {stderr}");
        assert_eq!(stderr, "", "nothing on stderr on success");
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs a command with `--output json` that must succeed; returns the parsed document.
    fn json(&self, args: &[&str]) -> Value {
        let all: Vec<&str> = args.iter().copied().chain(["--output", "json"]).collect();
        let stdout = self.ok(&all, "");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// Runs a command that must fail with exit code 1 and one line on stderr; returns it.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args, "");
        assert_eq!(out.status.code(), Some(1), "wharf {args:?} should fail");
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        stderr
    }
}

#[test]
fn topic_create_describe_list_delete_report_exactly() {
    let broker = start_broker();
    let created = broker.json(&[
        "topic",
        "create",
        "orders",
        "--partitions",
        "3",
        "--config",
        "retention.ms=3600000",
    ]);
    assert_eq!(created, json!({"topic": "orders", "result": "created"}));
    broker.ok(&["topic", "create", "audit"], "");

    let err = broker.fails(&["topic", "create", "orders", "--partitions", "3"]);
    assert!(err.contains("TOPIC_ALREADY_EXISTS (error code 36)"), "{err}");

    broker.ok(&["produce", "orders", "--partition", "1"], "x\ny\n");
    let partition = |p: i32, end: i64| json!({"partition": p, "leader": 1, "replicas": [1], "isr": [1], "log_start_offset": 0, "log_end_offset": end});
    assert_eq!(
        broker.json(&["topic", "describe", "orders"]),
        json!({
            "topic": "orders",
            "partitions": [partition(0, 0), partition(1, 2), partition(2, 0)],
            "configs": {"retention.ms": "3600000"},
        })
    );
    broker.ok(
        &[
            "topic",
            "alter",
            "orders",
            "--config",
            "retention.ms=60000",
            "--config",
            "segment.ms=1000",
        ],
        "",
    );
    broker.ok(&["topic", "alter", "orders", "--delete-config", "segment.ms"], "");
    assert_eq!(
        broker.json(&["topic", "describe", "orders"])["configs"],
        json!({"retention.ms": "60000"})
    );
    let err = broker.fails(&["topic", "alter", "orders", "--config", "no.such.key=1"]);
    assert!(err.contains("INVALID_CONFIG (error code 40)"), "{err}");

    assert_eq!(
        broker.json(&["topic", "list"]),
        json!([
            {"topic": "audit", "partitions": 1, "internal": false},
            {"topic": "orders", "partitions": 3, "internal": false},
        ])
    );
    assert_eq!(
        broker.json(&["topic", "delete", "orders"]),
        json!({"topic": "orders", "result": "deleted"})
    );
    assert_eq!(
        broker.json(&["topic", "list"]),
        json!([{"topic": "audit", "partitions": 1, "internal": false}])
    );
    let err = broker.fails(&["topic", "describe", "orders"]);
    assert!(err.contains("UNKNOWN_TOPIC_OR_PARTITION (error code 3)"), "{err}");
}

#[test]
fn produce_lines_then_consume_returns_them_exactly() {
    let broker = start_broker();
    broker.ok(&["topic", "create", "lines"], "");
    let input: String = (0..500).map(|i| format!("line {i}\n")).collect();
    assert_eq!(broker.ok(&["produce", "lines"], &input), "", "produce prints nothing");
    let consumed = broker.ok(&["consume", "lines", "--from-beginning", "--max-messages", "500"], "");
    assert_eq!(consumed, input);

    // Without --from-beginning a consumer starts at the end: nothing old is printed.
    let none = broker.ok(&["consume", "lines", "--timeout-ms", "300"], "");
    assert_eq!(none, "");

    // Keys, partitions and offsets, as JSON lines.
    broker.ok(&["topic", "create", "keyed", "--partitions", "2"], "");
    broker.ok(
        &["produce", "keyed", "--key-separator", "=", "--partition", "1"],
        "a=1\nb=2=x\n",
    );
    let out = broker.ok(
        &[
            "consume",
            "keyed",
            "--from-beginning",
            "--max-messages",
            "2",
            "--output",
            "json",
        ],
        "",
    );
    let records: Vec<Value> = out
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("json line");
            v.as_object_mut().expect("object").remove("timestamp");
            v
        })
        .collect();
    assert_eq!(
        records,
        vec![
            json!({"partition": 1, "offset": 0, "key": "a", "value": "1"}),
            json!({"partition": 1, "offset": 1, "key": "b", "value": "2=x"}),
        ]
    );
    let text = broker.ok(
        &[
            "consume",
            "keyed",
            "--partition",
            "1",
            "--offset",
            "1",
            "--print-key",
            "--print-offset",
            "--max-messages",
            "1",
        ],
        "",
    );
    assert_eq!(text, "1:1\tb\t2=x\n");

    let err = broker.run(&["produce", "keyed", "--key-separator", "="], "no separator here\n");
    assert_eq!(err.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&err.stderr).contains("line 1 has no key separator"));
    let err = broker.fails(&["produce", "missing"]);
    assert!(err.contains("UNKNOWN_TOPIC_OR_PARTITION (error code 3)"), "{err}");
}

#[test]
fn group_describe_shows_committed_offsets_and_lag_then_reset_moves_them() {
    let broker = start_broker();
    broker.ok(&["topic", "create", "events", "--partitions", "2"], "");
    let ten: String = (0..10).map(|i| format!("e{i}\n")).collect();
    broker.ok(&["produce", "events", "--partition", "0"], &ten);
    broker.ok(&["produce", "events", "--partition", "1"], "p1a\np1b\np1c\np1d\n");

    let read = broker.ok(
        &[
            "consume",
            "events",
            "--group",
            "g",
            "--from-beginning",
            "--partition",
            "0",
            "--max-messages",
            "6",
        ],
        "",
    );
    assert_eq!(read, "e0\ne1\ne2\ne3\ne4\ne5\n");
    let lag = |p: i32, committed: i64, end: i64| {
        json!({"topic": "events", "partition": p, "committed_offset": committed, "log_end_offset": end,
               "lag": end - committed, "member_id": null})
    };
    let described = broker.json(&["group", "describe", "g"]);
    assert_eq!(
        described,
        json!({"group": "g", "state": "Empty", "protocol_type": "", "protocol": "", "members": [],
               "offsets": [lag(0, 6, 10)]})
    );
    assert_eq!(
        broker.json(&["group", "list"]),
        json!([{"group": "g", "state": "Empty", "protocol_type": "", "members": 0}])
    );

    // The next read of the group starts at its committed offset.
    let rest = broker.ok(
        &[
            "consume",
            "events",
            "--group",
            "g",
            "--partition",
            "0",
            "--max-messages",
            "4",
        ],
        "",
    );
    assert_eq!(rest, "e6\ne7\ne8\ne9\n");
    assert_eq!(
        broker.json(&["group", "describe", "g"])["offsets"],
        json!([lag(0, 10, 10)])
    );

    // A dry run prints the plan and commits nothing.
    let plan = broker.json(&[
        "group",
        "reset-offsets",
        "--group",
        "g",
        "--topic",
        "events",
        "--to-earliest",
    ]);
    assert_eq!(
        plan,
        json!({"group": "g", "executed": false, "partitions": [
            {"topic": "events", "partition": 0, "current_offset": 10, "new_offset": 0},
            {"topic": "events", "partition": 1, "current_offset": null, "new_offset": 0},
        ]})
    );
    assert_eq!(
        broker.json(&["group", "describe", "g"])["offsets"],
        json!([lag(0, 10, 10)])
    );

    let shifted = broker.json(&[
        "group",
        "reset-offsets",
        "--group",
        "g",
        "--topic",
        "events:0",
        "--shift-by",
        "-3",
        "--execute",
    ]);
    assert_eq!(shifted["executed"], json!(true));
    assert_eq!(
        broker.json(&["group", "describe", "g"])["offsets"],
        json!([lag(0, 7, 10)])
    );
    broker.json(&[
        "group",
        "reset-offsets",
        "--group",
        "g",
        "--all-topics",
        "--to-offset",
        "99",
        "--execute",
    ]);
    assert_eq!(
        broker.json(&["group", "describe", "g"])["offsets"],
        json!([lag(0, 10, 10), lag(1, 4, 4)]),
        "every partition of the group's topics, clamped to the log end"
    );

    assert_eq!(
        broker.json(&["group", "delete", "g"]),
        json!([{"group": "g", "error": null}])
    );
    let err = broker.fails(&["group", "describe", "g"]);
    assert!(err.contains("GROUP_ID_NOT_FOUND (error code 69)"), "{err}");
}

#[test]
fn consume_with_group_joins_it_reads_its_assignment_and_leaves_on_interrupt() {
    let broker = start_broker();
    broker.ok(&["topic", "create", "jobs", "--partitions", "2"], "");
    broker.ok(&["produce", "jobs", "--partition", "0"], "a0\na1\na2\n");
    broker.ok(&["produce", "jobs", "--partition", "1"], "b0\nb1\n");

    let mut consumer = Command::new(WHARF)
        .args([
            "consume",
            "jobs",
            "--group",
            "workers",
            "--from-beginning",
            "--bootstrap-server",
            &broker.addr,
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wharf consume");
    // Wait until the member has read everything and committed it; the deadline only keeps a
    // broken build from hanging the suite.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let described = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the consumer never joined and committed"
        );
        let out = broker.run(&["group", "describe", "workers", "--output", "json"], "");
        if !out.status.success() {
            // Until the consumer has joined, the broker does not know the group.
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("GROUP_ID_NOT_FOUND"), "{stderr}");
            std::thread::sleep(std::time::Duration::from_millis(50));
            continue;
        }
        let d: Value = serde_json::from_slice(&out.stdout).expect("json");
        let committed: Vec<Value> = d["offsets"]
            .as_array()
            .map_or(vec![], |o| o.iter().map(|r| r["committed_offset"].clone()).collect());
        if d["state"] == "Stable" && committed == [json!(3), json!(2)] {
            break d;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let members = described["members"].as_array().expect("members");
    assert_eq!(members.len(), 1, "{described}");
    let member_id = members[0]["member_id"].as_str().expect("member id").to_owned();
    assert_eq!(
        members[0],
        json!({"member_id": member_id, "group_instance_id": null, "client_id": "wharf-cli",
               "host": "/127.0.0.1", "assignment": [{"topic": "jobs", "partitions": [0, 1]}]})
    );
    assert_eq!(described["protocol"], json!("range"));
    assert_eq!(described["offsets"][1]["member_id"], json!(member_id));

    // Ctrl-C: the consumer commits, leaves the group and exits 0.
    let interrupted = Command::new("kill")
        .args(["-INT", &consumer.id().to_string()])
        .status()
        .expect("run kill");
    assert!(interrupted.success());
    let mut stdout = String::new();
    consumer
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    let status = consumer.wait().expect("consumer exits");
    assert!(status.success(), "{status}");
    assert_eq!(stdout, "a0\na1\na2\nb0\nb1\n");
    let after = broker.json(&["group", "describe", "workers"]);
    assert_eq!((&after["state"], &after["members"]), (&json!("Empty"), &json!([])));
}

#[test]
fn topic_describe_shows_backlog_from_slowest_group_and_produce_past_cap_fails() {
    let broker = start_broker();
    broker.ok(&["topic", "create", "sale", "--config", "max.backlog.messages=5"], "");
    broker.ok(&["produce", "sale"], "a\nb\nc\nd\n");
    let backlog = |b: &Broker| b.json(&["topic", "describe", "sale"])["partitions"][0]["backlog"].clone();
    assert_eq!(
        backlog(&broker),
        json!(4),
        "no commits yet: measured from the log start"
    );
    for (group, n) in [("fast", "3"), ("slow", "1")] {
        let args = [
            "consume",
            "sale",
            "--group",
            group,
            "--from-beginning",
            "--partition",
            "0",
            "--max-messages",
            n,
        ];
        broker.ok(&args, "");
    }
    assert_eq!(backlog(&broker), json!(3), "measured from the slowest group");
    broker.ok(&["produce", "sale"], "e\nf\n");
    // 6 - 1 = 5 waiting: the cap. One more is refused, and nothing of it is written.
    assert_eq!(backlog(&broker), json!(5));
    let refused = broker.run(&["produce", "sale"], "g\n");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("POLICY_VIOLATION (error code 44)"), "{stderr}");
    assert_eq!(backlog(&broker), json!(5));
}
