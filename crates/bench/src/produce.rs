//! One producer connection: builds record batches and pipelines Produce requests.
//!
//! The writer (this task) claims records from the shared [`Budget`], builds one batch per
//! partition it owns, and writes the request; a reader task takes responses off the same
//! connection in order and matches each to the oldest in-flight request by correlation id. A
//! semaphore bounds the requests in flight (`--in-flight`): the writer takes a permit before
//! building, and the permit travels with the request until its response is checked. With
//! acks=0 the broker sends no response, so there is no reader and nothing is measured.
//! Any non-zero partition error code fails the run, naming the code and partition.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hdrhistogram::Histogram;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::batch::BatchBuilder;
use crate::budget::{Budget, Pacer};
use crate::error::BenchError;
use crate::stats::{latency_histogram, Counters};
use wharf_client::conn::{Connection, FrameReader};
use wharf_client::frame::{decode_body, decode_response_header, encode_request};
use wharf_client::ClientError;

/// How long the broker may hold a Produce request waiting for acks=-1 replication.
const PRODUCE_TIMEOUT_MS: i32 = 30_000;

/// Settings shared by every producer connection.
#[derive(Debug, Clone)]
pub struct ProduceSettings {
    pub topic: String,
    pub acks: i16,
    pub message_size: usize,
    pub batch_bytes: usize,
    pub compression: kafka_protocol::records::Compression,
    pub in_flight: usize,
    /// Records per second for this connection; `None` is unthrottled.
    pub rate_per_connection: Option<f64>,
    pub linger: Duration,
    /// Idempotent batches (producer id from InitProducerId, per-partition sequences).
    pub idempotent: bool,
}

/// A request on the wire, waiting for its response.
struct InFlight {
    correlation_id: i32,
    sent_at: Instant,
    records: u64,
    bytes: u64,
    _permit: OwnedSemaphorePermit,
}

/// Produces to `partitions` (all led by the broker behind `conn`) until the budget is spent;
/// returns the produce latency histogram (empty with acks=0).
pub async fn run_producer(
    conn: Connection,
    partitions: Vec<i32>,
    settings: ProduceSettings,
    budget: Arc<Budget>,
    counters: Arc<Counters>,
) -> Result<Histogram<u64>, BenchError> {
    let version = conn.version(wharf_client::versions::PRODUCE)?;
    let mut conn = conn;
    let producer = if settings.idempotent {
        Some(init_producer_id(&mut conn).await?)
    } else {
        None
    };
    let (mut writer, reader, mut correlation_id) = conn.into_split();
    let (tx, rx) = mpsc::unbounded_channel::<InFlight>();
    let reader_task = (settings.acks != 0).then(|| {
        tokio::spawn(read_responses(
            reader,
            rx,
            version,
            settings.topic.clone(),
            Arc::clone(&counters),
        ))
    });

    let permits = Arc::new(Semaphore::new(settings.in_flight));
    let mut builder = BatchBuilder::new(settings.message_size, settings.batch_bytes, settings.compression);
    if let Some((producer_id, producer_epoch)) = producer {
        builder.set_producer(producer_id, producer_epoch);
    }
    // The next producer sequence of each partition (idempotent batches only).
    let mut next_sequence: std::collections::HashMap<i32, i32> = std::collections::HashMap::new();
    let per_request = builder.records_per_batch() as u64 * partitions.len() as u64;
    let topic_name = TopicName(StrBytes::from_string(settings.topic.clone()));
    let mut frame = BytesMut::new();
    let mut sequence: u64 = 0;
    let mut rotation = 0usize;
    let mut pacer = settings
        .rate_per_connection
        .map(|rate| Pacer::new(rate, settings.linger));

    let written: Result<(), BenchError> = async {
        loop {
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .map_err(|_| BenchError::Task("in-flight semaphore closed".to_owned()))?;
            let want = match &pacer {
                Some(pacer) => pacer.ready(per_request).await,
                None => per_request,
            };
            let Some(claimed) = budget.claim(want) else {
                break;
            };
            if let Some(pacer) = &mut pacer {
                pacer.sent(claimed);
            }
            let mut partition_data = Vec::with_capacity(partitions.len());
            let shares = split_evenly(claimed, partitions.len(), rotation);
            rotation = rotation.wrapping_add(1);
            for (&partition, share) in partitions.iter().zip(shares) {
                if share == 0 {
                    continue;
                }
                let base = next_sequence.entry(partition).or_insert(0);
                let batch = builder.build_sequenced(share as usize, sequence, *base)?;
                *base = base.wrapping_add(share as i32);
                sequence += share;
                partition_data.push(
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(batch)),
                );
            }
            let request = ProduceRequest::default()
                .with_acks(settings.acks)
                .with_timeout_ms(PRODUCE_TIMEOUT_MS)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(topic_name.clone())
                    .with_partition_data(partition_data)]);
            frame.clear();
            encode_request(
                &mut frame,
                ApiKey::Produce,
                version,
                correlation_id,
                writer.client_id(),
                &request,
            )?;
            drop(request); // releases the batch buffers for reuse before the next build
            let bytes = claimed * settings.message_size as u64;
            if settings.acks == 0 {
                writer.write_all(&frame).await?;
                counters.add(claimed, bytes);
                drop(permit);
            } else {
                // Queue before writing: the response cannot be read before its entry exists.
                let entry = InFlight {
                    correlation_id,
                    sent_at: Instant::now(),
                    records: claimed,
                    bytes,
                    _permit: permit,
                };
                if tx.send(entry).is_err() {
                    break; // the reader failed; its error is collected below
                }
                writer.write_all(&frame).await?;
            }
            correlation_id = correlation_id.wrapping_add(1);
        }
        Ok(())
    }
    .await;

    drop(tx); // lets the reader finish once every in-flight response is in
    let histogram = match reader_task {
        Some(task) => match task.await {
            Ok(Ok(h)) => Ok(h),
            Ok(Err(e)) => Err(e),
            Err(join) => Err(BenchError::Task(format!("produce response reader: {join}"))),
        },
        None => Ok(latency_histogram()),
    };
    // A reader error explains a writer error (closed connection), so it wins.
    let histogram = histogram?;
    written?;
    Ok(histogram)
}

/// Reads responses in order, checks them, and records latency per request.
async fn read_responses(
    mut reader: FrameReader,
    mut rx: mpsc::UnboundedReceiver<InFlight>,
    version: i16,
    topic: String,
    counters: Arc<Counters>,
) -> Result<Histogram<u64>, BenchError> {
    let mut histogram = latency_histogram();
    while let Some(entry) = rx.recv().await {
        let mut frame = reader.read_frame().await?;
        let got = decode_response_header(&mut frame, ApiKey::Produce, version)?;
        if got != entry.correlation_id {
            return Err(ClientError::CorrelationMismatch {
                expected: entry.correlation_id,
                got,
            }
            .into());
        }
        histogram.saturating_record(entry.sent_at.elapsed().as_micros() as u64);
        let response: ProduceResponse = decode_body(&mut frame, ApiKey::Produce, version)?;
        for t in &response.responses {
            for p in &t.partition_responses {
                if p.error_code != 0 {
                    return Err(BenchError::broker(
                        ApiKey::Produce,
                        p.error_code,
                        format!(" on {topic}-{}", p.index),
                    ));
                }
            }
        }
        counters.add(entry.records, entry.bytes);
    }
    Ok(histogram)
}

/// Splits `total` records over `parts` partitions as evenly as possible; the remainder goes to
/// partitions starting at `rotation`, so over many requests every partition gets its share.
pub fn split_evenly(total: u64, parts: usize, rotation: usize) -> Vec<u64> {
    if parts == 0 {
        return Vec::new();
    }
    let base = total / parts as u64;
    let extra = (total % parts as u64) as usize;
    (0..parts)
        .map(|i| {
            let rank = (i + parts - rotation % parts) % parts;
            base + u64::from(rank < extra)
        })
        .collect()
}

/// InitProducerId without a transactional id: a fresh producer id and epoch (KIP-98).
async fn init_producer_id(conn: &mut Connection) -> Result<(i64, i16), BenchError> {
    use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};
    let version = conn.version(wharf_client::versions::INIT_PRODUCER_ID)?;
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(-1)
        .with_producer_id(kafka_protocol::messages::ProducerId(-1))
        .with_producer_epoch(-1);
    let response: InitProducerIdResponse = conn.call(ApiKey::InitProducerId, version, &request).await?;
    wharf_client::check_code(ApiKey::InitProducerId, response.error_code, String::new)?;
    Ok((response.producer_id.0, response.producer_epoch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_evenly_sums_to_total() {
        for (total, parts) in [(10, 3), (2, 5), (0, 4), (1_000_000, 7)] {
            for rotation in 0..5 {
                let shares = split_evenly(total, parts, rotation);
                assert_eq!(shares.len(), parts);
                assert_eq!(shares.iter().sum::<u64>(), total);
                let max = shares.iter().max().copied().unwrap_or(0);
                let min = shares.iter().min().copied().unwrap_or(0);
                assert!(max - min <= 1);
            }
        }
    }

    #[test]
    fn split_evenly_rotates_the_remainder() {
        assert_eq!(split_evenly(1, 3, 0), vec![1, 0, 0]);
        assert_eq!(split_evenly(1, 3, 1), vec![0, 1, 0]);
        assert_eq!(split_evenly(1, 3, 2), vec![0, 0, 1]);
    }
}
