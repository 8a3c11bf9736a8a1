//! `wharf topic`: list, describe, create, delete and alter topics on any Kafka-compatible
//! broker, like kafka-topics.sh and kafka-configs.sh.
//!
//! Describe shows each partition's leader, replicas and in-sync replicas (Metadata), its log
//! start and end offsets (ListOffsets earliest / latest, from the leader), and the topic's
//! configs set on the topic itself (DescribeConfigs source DYNAMIC_TOPIC_CONFIG), not the
//! defaults it inherits. Alter uses IncrementalAlterConfigs (KIP-339), so keys not named keep
//! their values.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    ListGroupsRequest, ListGroupsResponse,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;
use wharf_client::cluster::{broker_addr, leaders_of, topic_name, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use wharf_client::groups::committed_offsets;
use wharf_client::{check_response, versions, Cluster, OurRange};

use crate::group::LIST_GROUPS;
use crate::output::{print, ClientArgs, Table, CLIENT_ID, REQUEST_TIMEOUT};

const DELETE_TOPICS: OurRange = OurRange::new(ApiKey::DeleteTopics, 1, 6);
const DESCRIBE_CONFIGS: OurRange = OurRange::new(ApiKey::DescribeConfigs, 1, 4);
const INCREMENTAL_ALTER_CONFIGS: OurRange = OurRange::new(ApiKey::IncrementalAlterConfigs, 0, 1);

/// ConfigResource type of a topic (KIP-133).
const RESOURCE_TOPIC: i8 = 2;
/// DescribeConfigs config_source of a value set on the topic itself.
const SOURCE_DYNAMIC_TOPIC: i8 = 1;
/// IncrementalAlterConfigs operations (KIP-339).
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
/// How long the broker may take to create or delete a topic before answering.
const ADMIN_TIMEOUT_MS: i32 = 30_000;

#[derive(Subcommand, Debug)]
pub enum TopicCommand {
    /// List topics with their partition counts (internal topics only with --include-internal).
    List {
        #[arg(long)]
        include_internal: bool,
    },
    /// Partitions (leader, replicas, ISR, log start and end offsets) and non-default configs.
    Describe { topic: String },
    /// Create a topic.
    Create {
        topic: String,
        #[arg(long, default_value_t = 1)]
        partitions: i32,
        /// Replication factor; -1 is the broker's default (KIP-464).
        #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
        replication_factor: i16,
        /// A topic config, KEY=VALUE (Kafka's names, e.g. retention.ms=60000); repeatable.
        #[arg(long = "config", value_parser = parse_key_value)]
        configs: Vec<(String, String)>,
    },
    /// Delete a topic and its data.
    Delete { topic: String },
    /// Set or remove topic configs; keys not named keep their values.
    Alter {
        topic: String,
        /// Set KEY=VALUE; repeatable.
        #[arg(long = "config", value_parser = parse_key_value)]
        configs: Vec<(String, String)>,
        /// Remove KEY's override, back to the broker default; repeatable.
        #[arg(long = "delete-config")]
        delete_configs: Vec<String>,
    },
}

/// `KEY=VALUE` from the command line.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

pub async fn run(client: &ClientArgs, command: TopicCommand) -> Result<()> {
    let mut cluster = Cluster::connect(&client.bootstrap_server, CLIENT_ID, Some(REQUEST_TIMEOUT)).await?;
    match command {
        TopicCommand::List { include_internal } => list(&mut cluster, client, include_internal).await,
        TopicCommand::Describe { topic } => describe(&mut cluster, client, &topic).await,
        TopicCommand::Create {
            topic,
            partitions,
            replication_factor,
            configs,
        } => create(&mut cluster, client, &topic, partitions, replication_factor, &configs).await,
        TopicCommand::Delete { topic } => delete(&mut cluster, client, &topic).await,
        TopicCommand::Alter {
            topic,
            configs,
            delete_configs,
        } => alter(&mut cluster, client, &topic, &configs, &delete_configs).await,
    }
}

#[derive(Serialize)]
struct ListedTopic {
    topic: String,
    partitions: usize,
    internal: bool,
}

async fn list(cluster: &mut Cluster, client: &ClientArgs, include_internal: bool) -> Result<()> {
    let response = cluster.metadata(None).await?;
    let mut topics: Vec<ListedTopic> = response
        .topics
        .iter()
        .filter(|t| include_internal || !t.is_internal)
        .filter_map(|t| {
            Some(ListedTopic {
                topic: t.name.as_ref()?.0.to_string(),
                partitions: t.partitions.len(),
                internal: t.is_internal,
            })
        })
        .collect();
    topics.sort_by(|a, b| a.topic.cmp(&b.topic));
    print(client.output, &topics, || {
        let mut t = Table::new(&["TOPIC", "PARTITIONS"]);
        for topic in &topics {
            t.row(vec![topic.topic.clone(), topic.partitions.to_string()]);
        }
        t.render()
    })
}

#[derive(Serialize)]
struct DescribedPartition {
    partition: i32,
    leader: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    log_start_offset: i64,
    log_end_offset: i64,
    /// Records past the backlog reference (docs/BACKLOG.md), when the topic caps its backlog.
    #[serde(skip_serializing_if = "Option::is_none")]
    backlog: Option<i64>,
}

#[derive(Serialize)]
struct DescribedTopic {
    topic: String,
    partitions: Vec<DescribedPartition>,
    /// Configs set on the topic (not inherited defaults), by name.
    configs: BTreeMap<String, Option<String>>,
}

async fn describe(cluster: &mut Cluster, client: &ClientArgs, topic: &str) -> Result<()> {
    let metadata = cluster.metadata(Some(&[topic])).await?;
    let leaders = leaders_of(&metadata, topic)?;
    let starts = cluster.list_offsets(topic, &leaders, EARLIEST_TIMESTAMP).await?;
    let ends = cluster.list_offsets(topic, &leaders, LATEST_TIMESTAMP).await?;
    let found = metadata
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic))
        .context("topic vanished from its own metadata")?;
    let mut partitions: Vec<DescribedPartition> = leaders
        .iter()
        .zip(starts.iter().zip(&ends))
        .filter_map(|(l, (&start, &end))| {
            let p = found.partitions.iter().find(|p| p.partition_index == l.partition)?;
            Some(DescribedPartition {
                partition: l.partition,
                leader: p.leader_id.0,
                replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                log_start_offset: start,
                log_end_offset: end,
                backlog: None,
            })
        })
        .collect();
    partitions.sort_by_key(|p| p.partition);
    let configs = topic_overrides(cluster, topic).await?;
    fill_backlogs(cluster, topic, &configs, &mut partitions).await?;
    let report = DescribedTopic {
        topic: topic.to_owned(),
        partitions,
        configs,
    };
    print(client.output, &report, || {
        let ids = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
        let mut out = format!("Topic: {}  Partitions: {}\n", report.topic, report.partitions.len());
        let configs: Vec<String> = report
            .configs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("null")))
            .collect();
        out.push_str(&format!("Configs: {}\n", configs.join(",")));
        let capped = report.partitions.iter().any(|p| p.backlog.is_some());
        let mut header = vec![
            "PARTITION",
            "LEADER",
            "REPLICAS",
            "ISR",
            "LOG-START-OFFSET",
            "LOG-END-OFFSET",
        ];
        if capped {
            header.push("BACKLOG");
        }
        let mut t = Table::new(&header);
        for p in &report.partitions {
            let mut row = vec![
                p.partition.to_string(),
                p.leader.to_string(),
                ids(&p.replicas),
                ids(&p.isr),
                p.log_start_offset.to_string(),
                p.log_end_offset.to_string(),
            ];
            if capped {
                row.push(p.backlog.map_or_else(|| "-".into(), |b| b.to_string()));
            }
            t.row(row);
        }
        out.push_str(&t.render());
        out
    })
}

/// For a topic with a backlog cap (max.backlog.messages / max.backlog.bytes), each partition's
/// backlog as the broker measures it: log end minus the reference group's committed offset
/// (backlog.group, else the slowest group with a commit on the partition), at least the log
/// start.
async fn fill_backlogs(
    cluster: &mut Cluster,
    topic: &str,
    configs: &BTreeMap<String, Option<String>>,
    partitions: &mut [DescribedPartition],
) -> Result<()> {
    let capped = ["max.backlog.messages", "max.backlog.bytes"].iter().any(|k| {
        configs
            .get(*k)
            .and_then(|v| v.as_deref())
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|n| n >= 0)
    });
    if !capped {
        return Ok(());
    }
    let groups = match configs
        .get("backlog.group")
        .cloned()
        .flatten()
        .filter(|g| !g.is_empty())
    {
        Some(g) => vec![g],
        None => group_ids(cluster).await?,
    };
    let wanted = [(topic.to_owned(), partitions.iter().map(|p| p.partition).collect())];
    let mut reference: BTreeMap<i32, i64> = BTreeMap::new();
    for g in &groups {
        for c in committed_offsets(cluster, g, Some(&wanted)).await? {
            let slowest = reference.entry(c.partition).or_insert(c.offset);
            *slowest = (*slowest).min(c.offset);
        }
    }
    for p in partitions {
        let from = reference
            .get(&p.partition)
            .copied()
            .unwrap_or(p.log_start_offset)
            .max(p.log_start_offset);
        p.backlog = Some((p.log_end_offset - from).max(0));
    }
    Ok(())
}

/// Every group the cluster's brokers list.
async fn group_ids(cluster: &mut Cluster) -> Result<Vec<String>> {
    let metadata = cluster.metadata(Some(&[])).await?;
    let mut ids = Vec::new();
    for broker in &metadata.brokers {
        let conn = cluster
            .connection(&broker_addr(broker.host.as_str(), broker.port))
            .await?;
        let version = conn.version(LIST_GROUPS)?;
        let response: ListGroupsResponse = conn
            .call(ApiKey::ListGroups, version, &ListGroupsRequest::default())
            .await?;
        check_response(ApiKey::ListGroups, response.error_code, None, String::new)?;
        ids.extend(response.groups.iter().map(|g| g.group_id.0.to_string()));
    }
    Ok(ids)
}

/// The configs set on `topic` itself.
async fn topic_overrides(cluster: &mut Cluster, topic: &str) -> Result<BTreeMap<String, Option<String>>> {
    let conn = cluster.bootstrap().await?;
    let version = conn.version(DESCRIBE_CONFIGS)?;
    let request = DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
        .with_resource_type(RESOURCE_TOPIC)
        .with_resource_name(StrBytes::from_string(topic.to_owned()))
        .with_configuration_keys(None)]);
    let response: DescribeConfigsResponse = conn.call(ApiKey::DescribeConfigs, version, &request).await?;
    let mut configs = BTreeMap::new();
    for result in &response.results {
        check_response(
            ApiKey::DescribeConfigs,
            result.error_code,
            result.error_message.as_deref(),
            || format!(" on topic {topic}"),
        )?;
        for c in result
            .configs
            .iter()
            .filter(|c| c.config_source == SOURCE_DYNAMIC_TOPIC)
        {
            // Kafka hides the values of sensitive configs (passwords); so do we.
            let value = if c.is_sensitive {
                None
            } else {
                c.value.as_ref().map(|v| v.to_string())
            };
            configs.insert(c.name.to_string(), value);
        }
    }
    Ok(configs)
}

#[derive(Serialize)]
struct Changed<'a> {
    topic: &'a str,
    result: &'static str,
}

async fn create(
    cluster: &mut Cluster,
    client: &ClientArgs,
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(String, String)],
) -> Result<()> {
    let conn = cluster.bootstrap().await?;
    let version = conn.version(versions::CREATE_TOPICS)?;
    // Before v4 the broker's default replication factor cannot be asked for; 1 works anywhere.
    let replication_factor = if replication_factor < 0 && version < 4 {
        1
    } else {
        replication_factor
    };
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.clone()))
                            .with_value(Some(StrBytes::from_string(v.clone())))
                    })
                    .collect(),
            )])
        .with_timeout_ms(ADMIN_TIMEOUT_MS);
    let response: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, version, &request).await?;
    for r in &response.topics {
        check_response(ApiKey::CreateTopics, r.error_code, r.error_message.as_deref(), || {
            format!(" on topic {topic}")
        })?;
    }
    let report = Changed {
        topic,
        result: "created",
    };
    print(client.output, &report, || format!("Created topic {topic}.\n"))
}

async fn delete(cluster: &mut Cluster, client: &ClientArgs, topic: &str) -> Result<()> {
    let conn = cluster.bootstrap().await?;
    let version = conn.version(DELETE_TOPICS)?;
    let request = DeleteTopicsRequest::default().with_timeout_ms(ADMIN_TIMEOUT_MS);
    // v6 names topics in `topics` (by name or id, KIP-516); before it, in `topic_names`.
    let request = if version >= 6 {
        request.with_topics(vec![DeleteTopicState::default().with_name(Some(topic_name(topic)))])
    } else {
        request.with_topic_names(vec![topic_name(topic)])
    };
    let response: DeleteTopicsResponse = conn.call(ApiKey::DeleteTopics, version, &request).await?;
    for r in &response.responses {
        check_response(ApiKey::DeleteTopics, r.error_code, r.error_message.as_deref(), || {
            format!(" on topic {topic}")
        })?;
    }
    let report = Changed {
        topic,
        result: "deleted",
    };
    print(client.output, &report, || format!("Deleted topic {topic}.\n"))
}

async fn alter(
    cluster: &mut Cluster,
    client: &ClientArgs,
    topic: &str,
    configs: &[(String, String)],
    delete_configs: &[String],
) -> Result<()> {
    if configs.is_empty() && delete_configs.is_empty() {
        bail!("nothing to alter: give --config KEY=VALUE or --delete-config KEY");
    }
    let conn = cluster.bootstrap().await?;
    let version = conn.version(INCREMENTAL_ALTER_CONFIGS)?;
    let set = configs.iter().map(|(k, v)| {
        AlterableConfig::default()
            .with_name(StrBytes::from_string(k.clone()))
            .with_config_operation(OP_SET)
            .with_value(Some(StrBytes::from_string(v.clone())))
    });
    let removed = delete_configs.iter().map(|k| {
        AlterableConfig::default()
            .with_name(StrBytes::from_string(k.clone()))
            .with_config_operation(OP_DELETE)
            .with_value(None)
    });
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(RESOURCE_TOPIC)
        .with_resource_name(StrBytes::from_string(topic.to_owned()))
        .with_configs(set.chain(removed).collect())]);
    let response: IncrementalAlterConfigsResponse =
        conn.call(ApiKey::IncrementalAlterConfigs, version, &request).await?;
    for r in &response.responses {
        check_response(
            ApiKey::IncrementalAlterConfigs,
            r.error_code,
            r.error_message.as_deref(),
            || format!(" on topic {topic}"),
        )?;
    }
    let report = Changed {
        topic,
        result: "altered",
    };
    print(client.output, &report, || {
        format!("Altered configs of topic {topic}.\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_key_value_splits_at_the_first_equals() {
        assert_eq!(parse_key_value("a.b=c=d"), Ok(("a.b".into(), "c=d".into())));
        assert_eq!(parse_key_value("k="), Ok(("k".into(), String::new())));
        assert!(parse_key_value("=v").is_err());
        assert!(parse_key_value("novalue").is_err());
    }
}
