//! Moving one member from its current assignment towards its target (KIP-848 "member
//! reconciliation", Kafka's CurrentAssignmentBuilder).
//!
//! Invariant this protects: a partition is never owned by two members at once. A member first
//! gives up what it must lose (it is told its assignment without those partitions and keeps its
//! epoch until its heartbeat shows it no longer owns them); only then does it move to the target
//! epoch, and it gets a partition of its target only once no other member still holds it.

use std::collections::BTreeMap;

use super::member::{ConsumerMember, MemberState};
use super::Assignment;

/// Partition ownership across the group: who holds each (assigned or pending revocation).
pub type Owners<'a> = BTreeMap<(uuid::Uuid, i32), &'a str>;

pub fn owners<'a>(members: impl Iterator<Item = &'a ConsumerMember>) -> Owners<'a> {
    let mut out = Owners::new();
    for m in members {
        for (topic, ps) in m.assigned.iter().chain(m.pending_revocation.iter()) {
            for p in ps {
                out.insert((*topic, *p), m.member_id.as_str());
            }
        }
    }
    out
}

/// Advances `m` given the group's target for it. `owned` is what the member's heartbeat says it
/// owns (None when the heartbeat left it out: unchanged). Returns true if the member's
/// assignment or epoch changed.
pub fn reconcile(
    m: &mut ConsumerMember,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
    others: &Owners<'_>,
    now_ms: i64,
) -> bool {
    let before = (m.member_epoch, m.assigned.clone(), m.pending_revocation.clone());
    match m.state {
        MemberState::UnrevokedPartitions => {
            // The member acknowledges the revocation by no longer listing those partitions.
            let revoked = owned.is_some_and(|o| !intersects(o, &m.pending_revocation));
            if revoked {
                m.pending_revocation.clear();
                compute_next(m, target_epoch, target, others, now_ms);
            }
        }
        MemberState::UnreleasedPartitions | MemberState::Stable => {
            if m.member_epoch != target_epoch || m.state == MemberState::UnreleasedPartitions {
                compute_next(m, target_epoch, target, others, now_ms);
            }
        }
    }
    (m.member_epoch, &m.assigned, &m.pending_revocation) != (before.0, &before.1, &before.2)
}

fn compute_next(m: &mut ConsumerMember, target_epoch: i32, target: &Assignment, others: &Owners<'_>, now_ms: i64) {
    let mut keep = Assignment::new();
    let mut revoke = Assignment::new();
    for (topic, ps) in &m.assigned {
        for p in ps {
            let into = if target.get(topic).is_some_and(|t| t.contains(p)) {
                &mut keep
            } else {
                &mut revoke
            };
            into.entry(*topic).or_default().insert(*p);
        }
    }
    if !revoke.is_empty() {
        m.assigned = keep;
        m.pending_revocation = revoke;
        m.state = MemberState::UnrevokedPartitions;
        m.revocation_deadline_ms = Some(now_ms + i64::from(m.rebalance_timeout_ms.max(0)));
        return;
    }
    let mut unreleased = false;
    for (topic, ps) in target {
        for p in ps {
            let held_by_other = others.get(&(*topic, *p)).is_some_and(|o| *o != m.member_id);
            if held_by_other {
                unreleased = true;
            } else {
                keep.entry(*topic).or_default().insert(*p);
            }
        }
    }
    if m.member_epoch != target_epoch {
        m.previous_member_epoch = m.member_epoch;
        m.member_epoch = target_epoch;
    }
    m.assigned = keep;
    m.pending_revocation.clear();
    m.revocation_deadline_ms = None;
    m.state = if unreleased {
        MemberState::UnreleasedPartitions
    } else {
        MemberState::Stable
    };
}

fn intersects(a: &Assignment, b: &Assignment) -> bool {
    a.iter()
        .any(|(topic, ps)| b.get(topic).is_some_and(|other| ps.iter().any(|p| other.contains(p))))
}
