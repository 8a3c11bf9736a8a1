//! The committed seed corpus: how it is made, and the test that replays it.
//!
//! `write_seed_corpus` (ignored; run it with `cargo test -- --ignored write_seed_corpus`)
//! regenerates `corpus/<target>/<name>` from real v2 batches built by `BatchBuilder` and from a
//! real closed log directory, plus truncated and corrupted variants. The seeds are small on
//! purpose: libFuzzer mutates small inputs much faster, and the whole corpus stays in the tens
//! of kilobytes.
//!
//! `replay_corpus_and_regressions_without_panic` runs every file under `corpus/` and
//! `regressions/` through its target on stable Rust, so a saved crash stays a test.

use crate::log_check::NOW_MS;
use crate::scratch::ScratchDir;
use crate::TARGETS;
use std::path::{Path, PathBuf};
use wharf_log::testing::{tiny_config, BatchBuilder};
use wharf_log::Log;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds batches with contiguous base offsets from `first_offset`, as a log would store them.
fn segment_bytes(first_offset: i64, batches: &[BatchBuilder]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next = first_offset;
    for builder in batches {
        let mut batch = builder.build();
        batch[..8].copy_from_slice(&next.to_be_bytes());
        let last_offset_delta = i32::from_be_bytes([batch[23], batch[24], batch[25], batch[26]]);
        next += i64::from(last_offset_delta) + 1;
        out.extend(batch);
    }
    out
}

fn three_batches() -> Vec<BatchBuilder> {
    vec![
        BatchBuilder::new(3).timestamp(1_000).timestamp_step(1),
        BatchBuilder::new(1).value_len(40).timestamp(900).fill(b'b'),
        BatchBuilder::new(2).producer(7, 0, 3).timestamp(1_100).fill(b'c'),
    ]
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn frame_decode_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let batch = segment_bytes(0, &three_batches()[..1]);
    let mut two = framed(b"hello");
    two.extend(framed(b""));
    two.extend(framed(&batch));
    let with_header = |max: u16, seed: u8, stream: &[u8]| {
        let mut out = max.to_be_bytes().to_vec();
        out.push(seed);
        out.extend_from_slice(stream);
        out
    };
    let mut partial_huge = i32::MAX.to_be_bytes().to_vec();
    partial_huge.extend_from_slice(b"abc");
    vec![
        ("three-frames-whole", with_header(1024, 0, &two)),
        ("three-frames-byte-at-a-time", with_header(1024, 1, &two)),
        ("three-frames-small-chunks", with_header(1024, 7, &two)),
        ("exactly-the-limit", with_header(8, 3, &framed(&[7; 8]))),
        ("one-over-the-limit", with_header(8, 0, &framed(&[7; 9]))),
        ("negative-prefix", with_header(1024, 0, &(-1i32).to_be_bytes())),
        ("ceiling-limit-huge-prefix", with_header(u16::MAX, 2, &partial_huge)),
    ]
}

fn batch_validate_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let three = segment_bytes(0, &three_batches());
    let one = segment_bytes(0, &three_batches()[..1]);
    let mut flipped = one.clone();
    *flipped.last_mut().expect("a batch is not empty") ^= 1;
    let mut trailing = one.clone();
    trailing.push(0);
    let mut bad_magic = one.clone();
    bad_magic[16] = 1;
    vec![
        ("one-batch", one.clone()),
        ("three-batches", three.clone()),
        (
            "compacted-style-counts",
            BatchBuilder::new(3).record_count_override(2).build(),
        ),
        (
            "record-count-over-offsets",
            BatchBuilder::new(2).record_count_override(3).build(),
        ),
        ("flipped-crc-byte", flipped),
        ("trailing-byte", trailing),
        ("bad-magic", bad_magic),
        ("truncated-in-header", one[..30].to_vec()),
        ("truncated-in-records", three[..three.len() - 5].to_vec()),
    ]
}

/// A real segment and its index files, as `Log::close` leaves them.
fn closed_log_files() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let dir = ScratchDir::new();
    let mut log = Log::open(dir.path(), tiny_config(), NOW_MS).expect("open a new log");
    for i in 0..6u8 {
        let batch = BatchBuilder::new(2)
            .value_len(40)
            .timestamp(1_000 + i64::from(i))
            .fill(b'a' + i)
            .build();
        log.append(&batch, NOW_MS).expect("append");
    }
    log.close().expect("close");
    let read = |suffix: &str| std::fs::read(dir.path().join(format!("00000000000000000000.{suffix}"))).expect("read");
    (read("log"), read("index"), read("timeindex"))
}

fn log_recovery_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let with_flags = |flags: u8, parts: &[&[u8]]| {
        let mut out = vec![flags];
        for part in parts {
            out.extend_from_slice(part);
        }
        out
    };
    let three = segment_bytes(0, &three_batches());
    let mut corrupt_middle = three.clone();
    let second_batch_crc_byte = three_batches()[0].build().len() + 20;
    corrupt_middle[second_batch_crc_byte] ^= 0x40;
    let first_len = three_batches()[0].build().len();
    let split = (first_len as u16).to_be_bytes();
    let (log, index, time_index) = closed_log_files();
    let index_section = [&[index.len() as u8][..], &index].concat();
    let time_section = [&[time_index.len() as u8][..], &time_index].concat();
    vec![
        ("empty-directory", vec![0]),
        ("three-batches", with_flags(0, &[&three])),
        ("torn-last-batch", with_flags(0, &[&three[..three.len() - 3]])),
        ("corrupt-crc-in-middle", with_flags(0, &[&corrupt_middle])),
        (
            "closed-segment-with-indexes",
            with_flags(3, &[&index_section, &time_section, &log]),
        ),
        (
            "closed-segment-garbage-index",
            with_flags(1, &[&[16], &[0xAB; 16], &log]),
        ),
        // The first batch holds offsets 0..=2, so a second segment at 3 continues it.
        ("two-contiguous-segments", with_flags(4, &[&[3], &split, &three])),
        ("second-segment-after-gap", with_flags(4, &[&[9], &split, &three])),
    ]
}

fn index_rebuild_seeds() -> Vec<(&'static str, Vec<u8>)> {
    // A plan of `count` batches with varied shapes, then `damage` repeated for every segment.
    let plan = |count: u8, damage: &[u8]| {
        let mut out = vec![count];
        for i in 0..count {
            out.extend([i % 6, i.wrapping_mul(37), i.wrapping_mul(11) % 50, i % 5]);
        }
        for _ in 0..2 * 16 {
            out.extend_from_slice(damage);
        }
        out
    };
    let garbage: Vec<u8> = [2, 24].into_iter().chain((0..24).map(|i| i * 7)).collect();
    vec![
        ("one-batch-intact", vec![0]),
        ("many-batches-intact", plan(30, &[0])),
        ("many-batches-indexes-deleted", plan(30, &[1])),
        ("many-batches-indexes-replaced", plan(30, &garbage)),
        ("many-batches-bit-flip", plan(30, &[3, 0, 9])),
        ("many-batches-truncated", plan(30, &[4, 5])),
        ("many-batches-extended", plan(30, &[5, 4, 0, 0, 0, 1])),
    ]
}

#[test]
#[ignore = "regenerates the committed seed corpus; run by hand after changing the seeds"]
fn write_seed_corpus() {
    let sets = [
        ("frame_decode", frame_decode_seeds()),
        ("batch_validate", batch_validate_seeds()),
        ("log_recovery", log_recovery_seeds()),
        ("index_rebuild", index_rebuild_seeds()),
    ];
    for (target, seeds) in sets {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).expect("write seed");
        }
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn replay_corpus_and_regressions_without_panic() {
    let mut replayed = 0;
    let mut failed = Vec::new();
    for (target, run) in TARGETS {
        for kind in ["corpus", "regressions"] {
            for file in files_in(&fuzz_dir().join(kind).join(target)) {
                let bytes = std::fs::read(&file).expect("read input");
                // Every input runs even after one fails, so a report lists all open regressions.
                if std::panic::catch_unwind(|| run(&bytes)).is_err() {
                    failed.push(file.display().to_string());
                }
                replayed += 1;
            }
        }
    }
    assert!(replayed > 0, "no corpus found under {}", fuzz_dir().display());
    assert!(
        failed.is_empty(),
        "inputs that panic (messages above):\n{}",
        failed.join("\n")
    );
}
