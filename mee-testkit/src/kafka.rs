//! A test's own Kafka topic on the Tansu broker.

use crate::env::{Service, kafka_brokers, unique_name};
use crate::{TestFailure, TestResult};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use std::time::Duration;

/// A freshly created topic `t_<random>` with the requested number of partitions.
pub struct TestKafka {
    brokers: String,
    topic: String,
}

impl TestKafka {
    pub async fn new(partitions: i32) -> TestResult<Self> {
        Self::at(&kafka_brokers(), partitions).await
    }

    /// Like [`TestKafka::new`] against explicit brokers.
    pub async fn at(brokers: &str, partitions: i32) -> TestResult<Self> {
        let brokers = brokers.to_string();
        match tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::TcpStream::connect(&brokers),
        )
        .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(Service::Kafka.unreachable(&brokers, e)),
            Err(_) => return Err(Service::Kafka.unreachable(&brokers, "no answer within 3s")),
        }
        let topic = unique_name("t");
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()
            .map_err(|e| Service::Kafka.unreachable(&brokers, e))?;
        let new_topic = NewTopic::new(&topic, partitions, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin.create_topics([&new_topic], &opts).await?;
        for r in results {
            r.map_err(|(t, e)| TestFailure::new(format!("creating topic {t} failed: {e}")))?;
        }
        Ok(TestKafka { brokers, topic })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// An idempotent producer.
    pub fn producer(&self) -> TestResult<FutureProducer> {
        Ok(ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "10000")
            .create()?)
    }

    /// A consumer without a group subscription (use `assign`): group rebalances take ~20s on Tansu.
    pub fn consumer(&self, group: &str) -> TestResult<StreamConsumer> {
        Ok(ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()?)
    }
}
