//! max.connections and max.connections.per.ip: how many connections the broker holds at once,
//! in all and from one client address. A connection past either bound is closed at accept with
//! a log line, before anything is read from it.
//!
//! Invariant: `per_ip` holds only addresses with at least one live connection, so the map never
//! has more entries than `max_connections`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Total(usize),
    PerIp(usize),
}

#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its slots.
#[derive(Debug)]
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn try_admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refusal> {
        let mut c = self.counts();
        if c.total >= self.max_total {
            return Err(Refusal::Total(self.max_total));
        }
        let from_ip = c.per_ip.entry(ip).or_insert(0);
        if *from_ip >= self.max_per_ip {
            return Err(Refusal::PerIp(self.max_per_ip));
        }
        *from_ip += 1;
        c.total += 1;
        Ok(ConnectionSlot {
            limits: Arc::clone(self),
            ip,
        })
    }

    pub fn live(&self) -> usize {
        self.counts().total
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut c = self.limits.counts();
        c.total -= 1;
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_admit_per_ip_and_total_bounds_then_release() {
        let limits = ConnectionLimits::new(3, 2);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let a1 = limits.try_admit(a).expect("a1");
        let _a2 = limits.try_admit(a).expect("a2");
        assert_eq!(limits.try_admit(a).unwrap_err(), Refusal::PerIp(2));
        let _b1 = limits.try_admit(b).expect("b1");
        assert_eq!(limits.try_admit(b).unwrap_err(), Refusal::Total(3));
        drop(a1);
        assert_eq!(limits.live(), 2);
        let _a3 = limits.try_admit(a).expect("a slot freed");
        assert_eq!(limits.counts().per_ip.len(), 2);
    }
}
