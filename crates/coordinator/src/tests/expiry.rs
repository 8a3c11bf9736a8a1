//! Offset expiry (offsets.retention.minutes, KIP-211): abandoned groups lose their offsets after
//! the retention, live groups keep the offsets of the topics they consume.

use super::*;
use crate::{Committer, OffsetCommit, Record};

const RETENTION_MS: i64 = 60_000;
const CHECK_MS: i64 = 1_000;

fn expiring_coordinator() -> GroupCoordinator {
    GroupCoordinator::new(GroupLimits {
        offsets_retention_ms: RETENTION_MS,
        offsets_retention_check_interval_ms: CHECK_MS,
        ..GroupLimits::default()
    })
}

fn commit_standalone(c: &mut GroupCoordinator, topic: &str, now: i64) {
    let one = OffsetCommit {
        topic: topic.into(),
        partition: 0,
        offset: 7,
        leader_epoch: -1,
        metadata: String::new(),
    };
    let mut fx = Effects::default();
    let r = c.commit_offsets(&Committer::new("g", "", None, -1), vec![one], now, &mut fx);
    assert_eq!(r, Ok(vec![Ok(())]));
}

fn tick(c: &mut GroupCoordinator, now: i64) -> Vec<Record> {
    let mut fx = Effects::default();
    c.tick(now, &mut fx);
    fx.records
}

#[test]
fn tick_empty_group_offsets_expire_after_retention_with_tombstone() {
    let mut c = expiring_coordinator();
    commit_standalone(&mut c, "t", 0);
    assert!(
        tick(&mut c, 0).is_empty(),
        "first check: the group is seen empty from now"
    );
    assert!(tick(&mut c, RETENTION_MS - 1).is_empty());
    assert_eq!(c.fetch_offsets("g", None).len(), 1);
    let records = tick(&mut c, RETENTION_MS + CHECK_MS);
    assert_eq!(
        records,
        vec![Record::Offset {
            group_id: "g".into(),
            topic: "t".into(),
            partition: 0,
            offset: None
        }]
    );
    assert!(c.fetch_offsets("g", None).is_empty());
    assert_eq!(c.group_count(), 0, "a group with nothing left is forgotten");
}

#[test]
fn tick_recommit_restarts_the_retention_clock() {
    let mut c = expiring_coordinator();
    commit_standalone(&mut c, "t", 0);
    tick(&mut c, 0);
    commit_standalone(&mut c, "t", RETENTION_MS / 2);
    assert!(tick(&mut c, RETENTION_MS + CHECK_MS).is_empty());
    assert_eq!(tick(&mut c, RETENTION_MS / 2 + RETENTION_MS + 2 * CHECK_MS).len(), 1);
}

#[test]
fn tick_live_group_keeps_subscribed_offsets_and_expires_others() {
    let mut c = expiring_coordinator();
    commit_standalone(&mut c, "t", 0);
    commit_standalone(&mut c, "gone", 0);
    // A KIP-848 member subscribed to "t" joins the group.
    let hb = crate::ConsumerHeartbeat {
        group_id: "g".into(),
        member_id: "m".into(),
        member_epoch: 0,
        rebalance_timeout_ms: 1_000,
        subscribed_topic_names: Some(vec!["t".into()]),
        ..crate::ConsumerHeartbeat::default()
    };
    c.consumer_heartbeat(hb, &|_| None, 0).expect("joined");
    let later = RETENTION_MS + CHECK_MS;
    // Keep the member alive past the retention.
    let beat = crate::ConsumerHeartbeat {
        group_id: "g".into(),
        member_id: "m".into(),
        member_epoch: 1,
        rebalance_timeout_ms: -1,
        ..crate::ConsumerHeartbeat::default()
    };
    c.consumer_heartbeat(beat, &|_| None, later).expect("heartbeat");
    tick(&mut c, 0);
    let records = tick(&mut c, later);
    assert_eq!(records.len(), 1);
    let topics: Vec<String> = c.fetch_offsets("g", None).into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(topics, vec!["t".to_string()]);
}
