use bytes::Bytes;

use crate::{CommittedOffset, GroupSnapshot, MemberSnapshot, Record, RecordError};

fn round_trip(r: Record) {
    let key = r.key();
    let value = r.value();
    assert_eq!(Record::decode(Some(&key), value.as_ref()), Ok(r));
}

#[test]
fn offset_record_and_tombstone_round_trip() {
    let offset = CommittedOffset {
        offset: 77,
        leader_epoch: 3,
        metadata: "m€ta".into(),
        commit_timestamp_ms: 1_700_000_000_000,
    };
    round_trip(Record::Offset {
        group_id: "g".into(),
        topic: "t".into(),
        partition: 5,
        offset: Some(offset),
    });
    round_trip(Record::Offset {
        group_id: "g".into(),
        topic: "t".into(),
        partition: 5,
        offset: None,
    });
}

#[test]
fn group_record_round_trips_with_members() {
    round_trip(Record::Group {
        group_id: "g".into(),
        snapshot: Some(GroupSnapshot {
            protocol_type: "consumer".into(),
            generation_id: 9,
            protocol_name: Some("range".into()),
            leader: None,
            members: vec![MemberSnapshot {
                member_id: "m".into(),
                group_instance_id: Some("i".into()),
                client_id: "c".into(),
                client_host: "".into(),
                session_timeout_ms: 6000,
                rebalance_timeout_ms: 30000,
                subscription: Bytes::from_static(b"\x00\x01"),
                assignment: Bytes::new(),
            }],
        }),
    });
}

#[test]
fn decode_truncated_or_unknown_input_errs_without_panic() {
    let key = Record::Group {
        group_id: "g".into(),
        snapshot: None,
    }
    .key();
    assert_eq!(Record::decode(None, None), Err(RecordError::MissingKey));
    assert_eq!(
        Record::decode(Some(&Bytes::from_static(b"\x00\x07")), None),
        Err(RecordError::UnknownKeyType(7))
    );
    for cut in 0..key.len() {
        assert!(Record::decode(Some(&key.slice(..cut)), None).is_err(), "cut at {cut}");
    }
    // A member count far larger than the value could hold is refused before allocating.
    let huge = Bytes::from_static(b"\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff\x7f\xff\xff\xff");
    assert_eq!(
        Record::decode(Some(&key), Some(&huge)),
        Err(RecordError::Truncated("members"))
    );
}
