//! Smoke tests of the three real services mee talks to, through the same client crates mee uses:
//! a binlog event read from MariaDB (`mysql_async`), a message produced and consumed through Tansu
//! (`rdkafka`), and a bulk write and a search against osmem (`elasticsearch`).
//!
//! They prove the ground the rest stands on: the services started by `scripts/services.sh` answer,
//! have the settings mee needs, and the client libraries speak to them. When a service is down,
//! each test fails with one sentence naming the service and the command that starts it.

use elasticsearch::http::request::JsonBody;
use elasticsearch::{BulkParts, SearchParts};
use futures::StreamExt;
use mee_testkit::{TestEs, TestFailure, TestKafka, TestMysql, TestResult, eventually};
use mysql_async::binlog::events::EventData;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::{BinlogStreamRequest, Conn};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn mariadb_binlog_delivers_an_inserted_row_to_the_mee_account() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    mysql
        .exec("CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY, note VARCHAR(20))")
        .await?;
    let (file, pos): (String, u64) = mysql
        .query("SHOW MASTER STATUS")
        .await?
        .into_iter()
        .map(|row: mysql_async::Row| {
            (
                row.get::<String, _>(0).unwrap_or_default(),
                row.get::<u64, _>(1).unwrap_or(4),
            )
        })
        .next()
        .ok_or_else(|| TestFailure::new("SHOW MASTER STATUS returned no row: is the binlog on?"))?;
    mysql
        .exec("INSERT INTO orders VALUES (18446744073709551615, 'größe ✓')")
        .await?;

    // mee's own least-privilege account must be able to stream the binlog.
    let conn = Conn::from_url(mysql.mee_url()).await?;
    let server_id = 1_000_000 + rand_u32() % 1_000_000;
    let request = BinlogStreamRequest::new(server_id)
        .with_filename(file.as_bytes())
        .with_pos(pos)
        .with_non_blocking();
    let mut stream = conn.get_binlog_stream(request).await?;
    let mut found = None;
    while let Some(event) = stream.next().await {
        let event = event?;
        if let Some(EventData::RowsEvent(rows)) = event.read_data()? {
            let Some(tme) = stream.get_tme(rows.table_id()) else {
                continue;
            };
            if tme.database_name() != db || tme.table_name() != "orders" {
                continue;
            }
            for row in rows.rows(tme) {
                let (_, after) = row.map_err(|e| TestFailure::new(format!("row decode: {e}")))?;
                let after =
                    after.ok_or_else(|| TestFailure::new("insert without an after image"))?;
                let id = after.as_ref(0).map(|v| v.clone().into_owned());
                let note = after.as_ref(1).map(|v| v.clone().into_owned());
                found = Some((id, note));
            }
        }
    }
    let found = found.ok_or_else(|| {
        TestFailure::new(format!("no rows event for {db}.orders after {file}:{pos}"))
    })?;
    // FULL row metadata gives signedness: the unsigned max survives, and utf8mb4 text too.
    let expected_id = BinlogValue::Value(mysql_async::Value::UInt(u64::MAX));
    let expected_note =
        BinlogValue::Value(mysql_async::Value::Bytes("größe ✓".as_bytes().to_vec()));
    assert_eq!(found, (Some(expected_id), Some(expected_note)));
    mysql.drop_databases().await
}

#[tokio::test]
async fn kafka_message_round_trips_through_the_broker() -> TestResult {
    let kafka = TestKafka::new(2).await?;
    let producer = kafka.producer()?;
    let payload = json!({"table": "orders", "id": 7}).to_string();
    let delivery = producer
        .send(
            FutureRecord::to(kafka.topic())
                .key("shop.orders:7")
                .payload(&payload),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| TestFailure::new(format!("produce failed: {e}")))?;
    let (partition, offset) = (delivery.partition, delivery.offset);

    let consumer = kafka.consumer("smoke")?;
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(kafka.topic(), partition, Offset::Offset(offset))
        .map_err(|e| TestFailure::new(format!("assign: {e}")))?;
    consumer.assign(&assignment)?;
    let message = tokio::time::timeout(Duration::from_secs(20), consumer.recv())
        .await
        .map_err(|_| TestFailure::new("no message consumed within 20s"))??;
    assert_eq!(message.key(), Some(&b"shop.orders:7"[..]));
    assert_eq!(
        message.payload_view::<str>().transpose().ok().flatten(),
        Some(payload.as_str())
    );
    assert_eq!(message.offset(), offset);

    // Committing offset + 1 (the next message to read) must be stored and fetched back.
    let mut commit = TopicPartitionList::new();
    commit
        .add_partition_offset(kafka.topic(), partition, Offset::Offset(offset + 1))
        .map_err(|e| TestFailure::new(format!("commit list: {e}")))?;
    consumer.commit(&commit, rdkafka::consumer::CommitMode::Sync)?;
    let committed = consumer.committed(Duration::from_secs(10))?;
    let stored = committed
        .find_partition(kafka.topic(), partition)
        .map(|p| p.offset())
        .ok_or_else(|| TestFailure::new("committed offsets lack our partition"))?;
    assert_eq!(stored, Offset::Offset(offset + 1));
    Ok(())
}

#[tokio::test]
async fn opensearch_bulk_write_with_external_versions_then_search() -> TestResult {
    let es = TestEs::new().await?;
    let index = es.name("orders");
    let create = es
        .client()
        .indices()
        .create(elasticsearch::indices::IndicesCreateParts::Index(&index))
        .body(json!({"mappings": {"properties": {
            "id": {"type": "long"}, "status": {"type": "keyword"},
            "items": {"type": "nested", "properties": {"sku": {"type": "keyword"}}}}}}))
        .send()
        .await?;
    assert!(
        create.status_code().is_success(),
        "create index: {}",
        create.status_code()
    );

    let mut body: Vec<JsonBody<Value>> = Vec::new();
    for (id, status, version) in [(1, "paid", 10), (2, "new", 10), (1, "stale", 5)] {
        body.push(
            json!({"index": {"_index": index, "_id": id.to_string(),
            "version": version, "version_type": "external"}})
            .into(),
        );
        body.push(json!({"id": id, "status": status, "items": [{"sku": "a"}]}).into());
    }
    let resp = es.client().bulk(BulkParts::None).body(body).send().await?;
    let result: Value = resp.json().await?;
    let statuses: Vec<i64> = result["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["index"]["status"].as_i64().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    // The third write carries an older version for document 1: rejected with 409, not applied.
    assert_eq!(statuses, vec![201, 201, 409], "bulk response: {result}");

    let hits = eventually(
        "both documents to be searchable",
        Duration::from_secs(10),
        || async {
            es.client()
                .indices()
                .refresh(elasticsearch::indices::IndicesRefreshParts::Index(&[
                    &index,
                ]))
                .send()
                .await?;
            let resp = es
                .client()
                .search(SearchParts::Index(&[&index]))
                .body(json!({"query": {"nested": {"path": "items",
                "query": {"term": {"items.sku": "a"}}}}, "sort": [{"id": "asc"}]}))
                .send()
                .await?;
            let body: Value = resp.json().await?;
            let hits = body["hits"]["hits"].as_array().cloned().unwrap_or_default();
            Ok((hits.len() == 2).then_some(hits))
        },
    )
    .await?;
    assert_eq!(hits[0]["_source"]["status"], "paid");
    assert_eq!(hits[1]["_source"]["status"], "new");
    Ok(())
}

/// A stopped service must produce one clear sentence, not a hang or a panic trace. Port 1 on
/// loopback has no listener, which is exactly what a stopped service looks like.
#[tokio::test]
async fn an_unreachable_service_is_named_with_its_start_command() {
    let mysql = TestMysql::at("mysql://mee_admin:x@127.0.0.1:1", &["main"]).await;
    let es = TestEs::at("http://127.0.0.1:1").await;
    let kafka = TestKafka::at("127.0.0.1:1", 1).await;
    let messages = [
        mysql.err().map(|e| e.to_string()),
        es.err().map(|e| e.to_string()),
        kafka.err().map(|e| e.to_string()),
    ];
    let expected = [
        ("MariaDB", "start mysql"),
        ("osmem", "start es"),
        ("Tansu", "start kafka"),
    ];
    for (message, (service, command)) in messages.iter().zip(expected) {
        let message = message.as_deref().unwrap_or("no error at all");
        assert!(
            message.contains(service)
                && message.contains(&format!("scripts/services.sh {command}")),
            "unclear message for {service}: {message}"
        );
    }
}

fn rand_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(16)
}
