//! KIP-848 server-side assignors: `uniform` (the default: balanced and sticky) and `range`
//! (contiguous ranges per topic, as the classic RangeAssignor lays them out).
//!
//! Both are pure functions of the members' subscriptions, the subscribed topics' metadata and
//! (for `uniform`) the previous target assignment. Invariant of every result: each partition of a
//! subscribed topic is assigned to exactly one member subscribed to that topic, and nothing else
//! is assigned.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::Assignment;

/// The assignors this broker offers, in order of preference (the first is the default), as
/// `group.consumer.assignors` lists them in Kafka.
pub const ASSIGNORS: [&str; 2] = ["uniform", "range"];

/// One subscribed topic as the assignors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub topic_id: Uuid,
    pub partitions: i32,
}

/// What an assignor works from. `subscriptions` is keyed by member id (sorted, so results are
/// deterministic).
pub struct AssignmentSpec<'a> {
    pub subscriptions: BTreeMap<&'a str, &'a BTreeSet<String>>,
    pub topics: &'a BTreeMap<String, TopicMetadata>,
    pub previous: &'a BTreeMap<String, Assignment>,
}

/// Runs the named assignor (`uniform` for any name it does not know; the heartbeat validated it).
pub fn assign(name: &str, spec: &AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let out = if name == "range" { range(spec) } else { uniform(spec) };
    debug_assert!(covers_exactly(spec, &out), "assignor {name} broke its invariant");
    out
}

/// Every partition of a subscribed topic, with the members eligible to own it.
fn partitions<'a>(spec: &'a AssignmentSpec<'_>) -> Vec<((Uuid, i32), Vec<&'a str>)> {
    let mut out = Vec::new();
    for (name, meta) in spec.topics {
        let eligible = subscribers(spec, name);
        if eligible.is_empty() {
            continue;
        }
        for p in 0..meta.partitions {
            out.push(((meta.topic_id, p), eligible.clone()));
        }
    }
    out
}

/// The members subscribed to `topic`, by member id.
fn subscribers<'a>(spec: &AssignmentSpec<'a>, topic: &str) -> Vec<&'a str> {
    spec.subscriptions
        .iter()
        .filter(|(_, topics)| topics.contains(topic))
        .map(|(id, _)| *id)
        .collect()
}

/// Balanced and sticky: a partition stays with its previous owner while that owner is still
/// subscribed and not over its fair share; the rest go to the least-loaded eligible member; then
/// partitions move one at a time from the most- to the least-loaded eligible member until no
/// two eligible members differ by more than one.
fn uniform(spec: &AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let all = partitions(spec);
    let members: Vec<&str> = spec.subscriptions.keys().copied().collect();
    let mut owner: BTreeMap<(Uuid, i32), &str> = BTreeMap::new();
    let mut load: BTreeMap<&str, usize> = members.iter().map(|m| (*m, 0)).collect();
    let fair_share = all.len().div_ceil(members.len().max(1));
    for (tp, eligible) in &all {
        let previous = eligible
            .iter()
            .find(|m| spec.previous.get(**m).is_some_and(|a| contains(a, tp)));
        if let Some(m) = previous.filter(|m| load[**m] < fair_share) {
            owner.insert(*tp, m);
            *load.get_mut(m).expect("every member has a load") += 1;
        }
    }
    for (tp, eligible) in &all {
        if owner.contains_key(tp) {
            continue;
        }
        let m = least_loaded(eligible, &load);
        owner.insert(*tp, m);
        *load.get_mut(m).expect("every member has a load") += 1;
    }
    // Each move lowers the sum of squared loads, so the loop ends; the bound makes that explicit.
    for _ in 0..all.len() * members.len().max(1) {
        let mut moved = false;
        for (tp, eligible) in &all {
            let from = owner[tp];
            let to = least_loaded(eligible, &load);
            if load[to] + 1 < load[from] {
                owner.insert(*tp, to);
                *load.get_mut(from).expect("every member has a load") -= 1;
                *load.get_mut(to).expect("every member has a load") += 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    collect(&members, owner)
}

fn least_loaded<'a>(eligible: &[&'a str], load: &BTreeMap<&str, usize>) -> &'a str {
    eligible
        .iter()
        .copied()
        .min_by_key(|m| (load[*m], *m))
        .expect("a partition is listed only with eligible members")
}

/// Per topic, the subscribed members sorted by id get contiguous ranges; the first
/// `partitions % members` get one more.
fn range(spec: &AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let members: Vec<&str> = spec.subscriptions.keys().copied().collect();
    let mut owner = BTreeMap::new();
    for (name, meta) in spec.topics {
        let eligible = subscribers(spec, name);
        if eligible.is_empty() {
            continue;
        }
        let n = usize::try_from(meta.partitions).unwrap_or(0);
        let (each, extra) = (n / eligible.len(), n % eligible.len());
        let mut next = 0;
        for (i, m) in eligible.iter().enumerate() {
            let count = each + usize::from(i < extra);
            for p in next..next + count {
                owner.insert((meta.topic_id, p as i32), *m);
            }
            next += count;
        }
    }
    collect(&members, owner)
}

fn collect(members: &[&str], owner: BTreeMap<(Uuid, i32), &str>) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members.iter().map(|m| (m.to_string(), Assignment::new())).collect();
    for ((topic, p), m) in owner {
        out.get_mut(m)
            .expect("owners are members")
            .entry(topic)
            .or_default()
            .insert(p);
    }
    out
}

fn contains(a: &Assignment, (topic, p): &(Uuid, i32)) -> bool {
    a.get(topic).is_some_and(|ps| ps.contains(p))
}

fn covers_exactly(spec: &AssignmentSpec<'_>, out: &BTreeMap<String, Assignment>) -> bool {
    let mut seen = BTreeSet::new();
    for (member, a) in out {
        for (topic, ps) in a {
            let Some((name, _)) = spec.topics.iter().find(|(_, m)| m.topic_id == *topic) else {
                return false;
            };
            if !spec
                .subscriptions
                .get(member.as_str())
                .is_some_and(|s| s.contains(name))
            {
                return false;
            }
            for p in ps {
                if !seen.insert((*topic, *p)) {
                    return false;
                }
            }
        }
    }
    seen.len() == partitions(spec).len()
}
