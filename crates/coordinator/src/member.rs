//! One member of a classic group: identity, timeouts, supported protocols, its assignment and
//! the requests it has waiting.

use bytes::Bytes;

use crate::effects::WaiterId;

#[derive(Debug, Clone)]
pub struct Member {
    pub member_id: String,
    /// KIP-345 static membership.
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    /// (protocol name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    /// Its JoinGroup, parked until the rebalance completes.
    pub join_waiter: Option<WaiterId>,
    /// Its SyncGroup, parked until the leader sends the assignment.
    pub sync_waiter: Option<WaiterId>,
    /// Sent SyncGroup in the current generation (members that never do are removed when the
    /// sync phase times out).
    pub has_synced: bool,
    /// The member expires when no heartbeat arrives by this time.
    pub heartbeat_deadline_ms: i64,
}

impl Member {
    /// Its metadata for `protocol`, empty if it does not list it.
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(n, _)| n == protocol)
    }

    /// Same protocols, same metadata, same order: a rejoin that changes nothing.
    pub fn has_same_protocols(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// Kafka's shouldKeepAlive: a member with a parked JoinGroup or SyncGroup is waiting on the
    /// group, not failing to heartbeat.
    pub fn has_expired(&self, now_ms: i64) -> bool {
        self.join_waiter.is_none() && self.sync_waiter.is_none() && now_ms >= self.heartbeat_deadline_ms
    }

    pub fn touch(&mut self, now_ms: i64) {
        self.heartbeat_deadline_ms = now_ms.saturating_add(i64::from(self.session_timeout_ms));
    }
}
