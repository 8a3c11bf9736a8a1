//! The group coordinator's side of transactional offsets (KIP-98, KIP-447): TxnOffsetCommit is
//! checked against the group like an OffsetCommit, but its offsets only reach the group when the
//! transaction commits, whatever the membership is by then (as Kafka completes pending offsets
//! on the commit marker).

use crate::coordinator::GroupCoordinator;
use crate::effects::Effects;
use crate::error::GroupError;
use crate::offsets::{Committer, OffsetCommit};
use crate::txn::PendingOffset;

impl GroupCoordinator {
    /// The group-level checks of a TxnOffsetCommit (member id and generation from v3). A group
    /// that does not exist yet passes: a producer need not use group management.
    pub fn validate_txn_commit(&self, who: &Committer<'_>) -> Result<(), GroupError> {
        if who.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        match self.groups.get(who.group_id) {
            None => Ok(()),
            Some(g) => g.validate_commit(who.member_id, who.group_instance_id, who.generation_id),
        }
    }

    /// Makes a committed transaction's offsets the group's committed offsets, emitting their
    /// records. Per-partition refusals (the group's offset limit) are returned, not fatal: the
    /// transaction has committed and the rest of its offsets stand.
    pub fn apply_txn_offsets(
        &mut self,
        offsets: &[PendingOffset],
        now_ms: i64,
        fx: &mut Effects,
    ) -> Vec<(PendingOffset, GroupError)> {
        let limits = self.limits().clone();
        let mut refused = Vec::new();
        let mut groups: Vec<&str> = offsets.iter().map(|o| o.group_id.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        for group_id in groups {
            let mine: Vec<&PendingOffset> = offsets.iter().filter(|o| o.group_id == group_id).collect();
            let group = match self.get_or_create(group_id) {
                Ok(g) => g,
                Err(e) => {
                    refused.extend(mine.into_iter().map(|o| (o.clone(), e.clone())));
                    continue;
                }
            };
            let commits = mine
                .iter()
                .map(|o| OffsetCommit {
                    topic: o.topic.clone(),
                    partition: o.partition,
                    offset: o.offset,
                    leader_epoch: o.leader_epoch,
                    metadata: o.metadata.clone(),
                })
                .collect();
            for (o, r) in mine.into_iter().zip(group.commit("", commits, &limits, now_ms, fx)) {
                if let Err(e) = r {
                    refused.push((o.clone(), e));
                }
            }
        }
        refused
    }
}
