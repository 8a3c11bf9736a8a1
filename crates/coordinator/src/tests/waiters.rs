//! Randomized (seeded, reproducible) runs of joins, syncs, heartbeats, leaves and clock jumps by
//! a few dynamic and static members, checking the Effects contract: every parked request is
//! answered exactly once, and never before it was parked. Group invariants are checked by the
//! coordinator itself after every call (debug assertions).

use std::collections::HashMap;

use super::*;

/// xorshift64*: small, deterministic, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SLOTS: usize = 4;

#[derive(Default, Clone)]
struct Slot {
    member_id: String,
    generation_id: i32,
}

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut c = coordinator();
    let mut slots = vec![Slot::default(); SLOTS];
    let mut parked: HashMap<u64, &'static str> = HashMap::new();
    let mut answered: HashMap<u64, u32> = HashMap::new();
    let mut next_waiter = 1u64;
    let mut next_id = 1u64;
    let mut now = 0i64;
    let mut record = |fx: Effects, slots: &mut Vec<Slot>, parked: &HashMap<u64, &'static str>| {
        for (w, r) in &fx.joins {
            assert!(
                parked.contains_key(w),
                "seed {seed}: join waiter {w} answered but never parked"
            );
            *answered.entry(*w).or_default() += 1;
            if let Ok(r) = r {
                if let Some(s) = slots.iter_mut().find(|s| s.member_id == r.member_id) {
                    s.generation_id = r.generation_id;
                }
            }
        }
        for (w, _) in &fx.syncs {
            assert!(
                parked.contains_key(w),
                "seed {seed}: sync waiter {w} answered but never parked"
            );
            *answered.entry(*w).or_default() += 1;
        }
    };
    for _ in 0..200 {
        let i = rng.below(SLOTS as u64) as usize;
        let is_static = i % 2 == 1;
        let mut fx = Effects::default();
        match rng.below(6) {
            0 | 1 => {
                let w = next_waiter;
                next_waiter += 1;
                let new_id = format!("m{next_id}");
                next_id += 1;
                let mut p = params(&slots[i].member_id, &new_id, w);
                p.require_known_member_id = rng.below(2) == 0;
                if is_static {
                    p.group_instance_id = Some(format!("i{i}"));
                }
                parked.insert(w, "join");
                match c.join(p, now, &mut fx) {
                    Ok(()) => {
                        if slots[i].member_id.is_empty() {
                            slots[i].member_id = new_id;
                        }
                    }
                    Err(GroupError::MemberIdRequired { member_id }) => {
                        parked.remove(&w);
                        slots[i].member_id = member_id;
                    }
                    Err(_) => {
                        parked.remove(&w);
                        slots[i] = Slot::default();
                    }
                }
            }
            2 => {
                let w = next_waiter;
                next_waiter += 1;
                let assignments: Vec<(String, bytes::Bytes)> = slots
                    .iter()
                    .filter(|s| !s.member_id.is_empty())
                    .map(|s| (s.member_id.clone(), bytes::Bytes::from_static(b"a")))
                    .collect();
                let mut p = sync_params(&slots[i].member_id, slots[i].generation_id, &[], w);
                p.assignments = assignments;
                if is_static {
                    p.group_instance_id = Some(format!("i{i}"));
                }
                parked.insert(w, "sync");
                if c.sync(p, now, &mut fx).is_err() {
                    parked.remove(&w);
                }
            }
            3 => {
                let instance = is_static.then(|| format!("i{i}"));
                let _ = c.heartbeat(
                    "g",
                    &slots[i].member_id,
                    instance.as_deref(),
                    slots[i].generation_id,
                    now,
                );
            }
            4 => {
                let instance = is_static.then(|| format!("i{i}"));
                c.leave("g", &[(slots[i].member_id.clone(), instance)], now, &mut fx);
                slots[i] = Slot::default();
            }
            _ => {
                now += rng.below(15_000) as i64;
                c.tick(now, &mut fx);
            }
        }
        record(fx, &mut slots, &parked);
    }
    let mut fx = Effects::default();
    c.fail_all_waiters(&mut fx);
    record(fx, &mut slots, &parked);
    for w in parked.keys() {
        assert_eq!(
            answered.get(w),
            Some(&1),
            "seed {seed}: waiter {w} ({}) answered",
            parked[w]
        );
    }
    assert_eq!(answered.len(), parked.len(), "seed {seed}");
}

#[test]
fn random_operations_answer_every_waiter_exactly_once() {
    for seed in 0..300 {
        run(seed);
    }
}
