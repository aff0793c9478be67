//! Test harness for mee's integration tests.
//!
//! Integration tests talk to the real services that `scripts/services.sh start` runs on loopback:
//! MariaDB with the binlog on, Tansu (Kafka protocol) and osmem-server (OpenSearch API). This crate
//! finds them, gives every test its own database / index prefix / topic so tests run in parallel,
//! and turns "service not running" into one clear sentence naming the service and the command that
//! starts it, instead of a hang or a panic trace.
//!
//! ```no_run
//! # async fn demo() -> mee_testkit::TestResult {
//! let mut mysql = mee_testkit::TestMysql::new().await?;      // fresh database `t_<random>`
//! mysql.exec("CREATE TABLE t (id INT PRIMARY KEY)").await?;
//! let es = mee_testkit::TestEs::new().await?;            // index names prefixed `t_<random>_`
//! # Ok(()) }
//! ```

mod env;
mod es;
mod failure;
mod kafka;
mod mysql;
mod private_mysql;

pub use env::{Service, es_url, kafka_brokers, mysql_admin_url, mysql_url, unique_name};
pub use es::TestEs;
pub use failure::{TestFailure, TestResult, fail};
pub use kafka::TestKafka;
pub use mysql::TestMysql;
pub use private_mysql::PrivateMysql;

/// Polls `check` until it returns `Some`, or fails after `timeout` with `what` in the message.
/// Tests use this instead of sleeping: it returns as soon as the condition holds.
pub async fn eventually<T, F, Fut>(
    what: &str,
    timeout: std::time::Duration,
    mut check: F,
) -> Result<T, TestFailure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, TestFailure>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = std::time::Duration::from_millis(10);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TestFailure::new(format!(
                "timed out after {timeout:?} waiting for {what}"
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(200));
    }
}
