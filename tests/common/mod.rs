//! Shared set-up of the integration tests of the `mee` package: the reference fixtures' schemas
//! and base data in a test's own databases, and a `Source` on mee's own account.
#![allow(dead_code)] // Each test binary uses a different part.

use mee_runtime::es::EsClient;
use mee_runtime::mysql::{Source, SourceConfig};
use mee_runtime::run::{RunOptions, Services};
use mee_runtime::state::{RetryConfig, RetryTable, StateConfig, StateStore};
use mee_runtime::update::UpdateOptions;
use mee_testkit::{TestEs, TestFailure, TestMysql, TestResult, fail};
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

pub mod sync;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/schema");

/// Creates the logical databases with their checked-in DDL.
pub async fn databases(logical: &[&str]) -> TestResult<TestMysql> {
    schemas(TestMysql::with_databases(logical).await?, logical).await
}

/// [`databases`] on a test's own server.
pub async fn databases_on(
    server: &mee_testkit::PrivateMysql,
    logical: &[&str],
) -> TestResult<TestMysql> {
    schemas(server.test_mysql(logical).await?, logical).await
}

/// Creates the tables of `logical` (created already) with their checked-in DDL.
async fn schemas(mut mysql: TestMysql, logical: &[&str]) -> TestResult<TestMysql> {
    for db in logical {
        let ddl = std::fs::read_to_string(format!("{SCHEMA}/{db}.sql"))?;
        let physical = mysql.db(db).to_string();
        mysql.exec(&format!("USE `{physical}`; {ddl}")).await?;
    }
    Ok(mysql)
}

/// A source reading the test's databases through mee's least-privilege account.
pub async fn source(mysql: &TestMysql) -> TestResult<Source> {
    let mut config = SourceConfig::new(mysql.mee_url());
    for (logical, physical) in mysql.database_map() {
        config = config.with_database(logical.clone(), physical.clone());
    }
    Source::connect(config)
        .await
        .map_err(|e| TestFailure::new(e.to_string()))
}

/// The VEH fixture's databases with the reference's base data (plus vehicle 2 with a NULL type).
pub async fn vehicles() -> TestResult<TestMysql> {
    let mut mysql = vehicles_base().await?;
    let cert = mysql.db("certify_service").to_string();
    mysql
        .exec(&format!(
            "INSERT INTO `{cert}`.vehicle VALUES (2,'2018-01-01 00:00:00','2018-01-02 00:00:00',NULL,0)"
        ))
        .await?;
    Ok(mysql)
}

/// The VEH fixture's databases with exactly the reference's base data (§7).
pub async fn vehicles_base() -> TestResult<TestMysql> {
    let mut mysql = databases(&["certify_service", "carteam_service", "track_service"]).await?;
    let (cert, team, track) = (
        mysql.db("certify_service").to_string(),
        mysql.db("carteam_service").to_string(),
        mysql.db("track_service").to_string(),
    );
    mysql
        .exec(&format!(
            "INSERT INTO `{cert}`.vehicle VALUES (1,'2018-01-01 00:00:00','2018-01-02 00:00:00',10,1),
                                              (5,'2018-01-01 00:00:00','2018-01-02 00:00:00',11,0);
             INSERT INTO `{cert}`.vehicle_type VALUES (10,'truck');
             INSERT INTO `{track}`.vehicle_monitor VALUES (100,1,1,7,'gps'),(101,1,0,8,'obd'),(102,1,1,9,'cam');
             INSERT INTO `{team}`.relation_captain_vehicle VALUES (1000,1,77,88,1);"
        ))
        .await?;
    Ok(mysql)
}

/// The CT fixture's databases with the reference's base data (§7).
pub async fn carteam() -> TestResult<TestMysql> {
    let mut mysql = databases(&["carteam_service", "admin_service"]).await?;
    let (team, admin) = (
        mysql.db("carteam_service").to_string(),
        mysql.db("admin_service").to_string(),
    );
    mysql
        .exec(&format!(
            "INSERT INTO `{team}`.users VALUES (1,'2018-01-01 00:00:00','2018-01-02 00:00:00','alice','111',1),
                                           (2,'2018-01-01 00:00:00','2018-01-02 00:00:00','bob','222',2),
                                           (3,'2018-01-01 00:00:00','2018-01-02 00:00:00','carol',NULL,1);
             INSERT INTO `{team}`.auditor_relations VALUES (10,1,500,600,1,1),(11,1,501,601,1,2);
             INSERT INTO `{team}`.credit VALUES (20,1,1000,300,400,200,0),(21,3,1000,0,400,200,0);
             INSERT INTO `{team}`.loan_base VALUES (30,1,100),(31,1,101),(32,1,200);
             INSERT INTO `{admin}`.users VALUES (500,'aud1','999');"
        ))
        .await?;
    Ok(mysql)
}

/// The NEST fixture's database `d` (schema in `tests/fixtures/schema`) with the reference's
/// base data (§7).
pub async fn nest() -> TestResult<TestMysql> {
    let mut mysql = TestMysql::with_databases(&["d"]).await?;
    let d = mysql.db("d").to_string();
    let ddl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/schema/d.sql"
    ))?;
    mysql
        .exec(&format!(
            "USE `{d}`; {ddl}
             INSERT INTO `{d}`.m VALUES (1,'A',9),(2,'B',9);
             INSERT INTO `{d}`.it VALUES (10,'A','i10',100,1),(11,'A','i11',101,1),(12,'B','i12',100,1);
             INSERT INTO `{d}`.sku VALUES (100,'s100');"
        ))
        .await?;
    Ok(mysql)
}

/// A full update of `index` into `alias` that must build every document; its report gives the
/// snapshot the sync continues from.
pub async fn update_into(
    index: &dyn mee_runtime::pipeline::IndexPipeline,
    source: &Source,
    es: &EsClient,
    alias: &str,
) -> TestResult<mee_runtime::update::UpdateReport> {
    use mee_runtime::update::{CollectFailures, NoProgress, full_update};
    let options = UpdateOptions {
        alias: Some(alias.to_string()),
        ..UpdateOptions::default()
    };
    let mut failures = CollectFailures::default();
    let report = full_update(index, source, es, &options, &mut failures, &NoProgress)
        .await
        .map_err(fail)?;
    if !failures.0.is_empty() {
        return Err(TestFailure::new(format!(
            "the full update could not build every document: {:?}",
            failures.0
        )));
    }
    Ok(report)
}

/// A test's index namespace on osmem and mee's client for it.
pub async fn es() -> TestResult<(TestEs, EsClient)> {
    let test_es = TestEs::new().await?;
    let client = EsClient::new(test_es.url()).map_err(fail)?;
    Ok((test_es, client))
}

/// The state index of a test, unprefixed (`mee --state-index` takes `test_es.name` of it).
pub const STATE_INDEX: &str = "mee-state";
/// The retry index of a test, unprefixed (`mee --retry-index` takes `test_es.name` of it).
pub const RETRY_INDEX: &str = "mee-retry";

/// The state store and retry table on the test's own indexes, so that tests running at the same
/// time never see each other's leases, generations or checkpoints.
pub fn stores(test_es: &TestEs, es: &EsClient) -> TestResult<(StateStore, RetryTable)> {
    let state = StateStore::new(
        es.clone(),
        StateConfig {
            index: test_es.name(STATE_INDEX),
            ..StateConfig::default()
        },
    )
    .map_err(fail)?;
    let retry = RetryTable::new(
        es.clone(),
        RetryConfig {
            index: test_es.name(RETRY_INDEX),
            ..RetryConfig::default()
        },
    )
    .map_err(fail)?;
    Ok((state, retry))
}

/// What a test of `run` or `update` works with: its databases and a source on them, its index
/// namespace with mee's client and its own stores, and the alias its index is served under.
pub struct Env {
    pub mysql: TestMysql,
    pub source: Source,
    pub test_es: TestEs,
    pub es: EsClient,
    pub state: StateStore,
    pub retry: RetryTable,
    pub alias: String,
}

impl Env {
    /// Everything around `mysql` (loaded already), with the alias `index` in the namespace.
    pub async fn new(mysql: TestMysql, index: &str) -> TestResult<Env> {
        let source = source(&mysql).await?;
        let (test_es, es) = es().await?;
        let (state, retry) = stores(&test_es, &es)?;
        let alias = test_es.name(index);
        Ok(Env {
            mysql,
            source,
            test_es,
            es,
            state,
            retry,
            alias,
        })
    }

    /// What `run` works with.
    pub fn services(&self) -> Services<'_> {
        Services {
            source: &self.source,
            es: &self.es,
            state: &self.state,
            retry: &self.retry,
        }
    }
}

/// Options of a `run` that follows into `alias`: short batches so that changes show quickly, and
/// a replica id of this process's own above `server_id_base` (two binlog readers with one id
/// would make the server drop the older one).
pub fn run_options(alias: &str, server_id_base: u32) -> RunOptions {
    RunOptions {
        update: UpdateOptions {
            alias: Some(alias.to_string()),
            ..UpdateOptions::default()
        },
        server_id: server_id_base + std::process::id() % 1_000_000,
        batch_wait: Duration::from_millis(100),
        ..RunOptions::default()
    }
}

/// Runs `follower` next to `steps` and stops it however the steps end, so that a failure is
/// reported instead of hanging.
pub async fn beside<R, T>(
    follower: impl Future<Output = R>,
    steps: impl Future<Output = T>,
    stop: watch::Sender<bool>,
) -> (R, T) {
    tokio::join!(follower, async {
        let result = steps.await;
        let _ = stop.send(true);
        result
    })
}

/// Waits until `alias` points at some index (`what` names the moment in the failure), and
/// returns the indexes it points at.
pub async fn alias_moved(
    es: &EsClient,
    alias: &str,
    what: &str,
    limit: Duration,
) -> TestResult<Vec<String>> {
    mee_testkit::eventually(what, limit, || async {
        Ok(es.alias_targets(alias).await.ok().filter(|t| !t.is_empty()))
    })
    .await
}
