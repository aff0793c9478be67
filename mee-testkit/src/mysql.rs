//! A test's own MariaDB databases.

use crate::env::{Service, host_port, mysql_admin_url, mysql_url, unique_name};
use crate::{TestFailure, TestResult};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use std::collections::BTreeMap;
use std::time::Duration;

/// Fresh databases on the test MariaDB, named `t_<random>_<logical name>`, so tests that use the
/// same pipeline (and so the same database names) run side by side. Pipelines keep their logical
/// names; the runtime maps them to these physical ones.
pub struct TestMysql {
    prefix: String,
    databases: BTreeMap<String, String>,
    admin: Conn,
    admin_url: String,
    mee_url: String,
}

impl TestMysql {
    /// One database, logical name `main`.
    pub async fn new() -> TestResult<Self> {
        Self::with_databases(&["main"]).await
    }

    /// One physical database per logical name.
    pub async fn with_databases(logical: &[&str]) -> TestResult<Self> {
        Self::at(&mysql_admin_url(), logical).await
    }

    /// Like [`TestMysql::with_databases`] against an explicit admin URL (mee's account is the
    /// shared instance's).
    pub async fn at(url: &str, logical: &[&str]) -> TestResult<Self> {
        Self::on(url, &mysql_url(), logical).await
    }

    /// Like [`TestMysql::with_databases`] on another server: `admin_url` creates the databases
    /// and serves [`TestMysql::admin_conn`], `mee_url` is what [`TestMysql::mee_url`] returns
    /// (e.g. a [`crate::PrivateMysql`]'s).
    pub async fn on(admin_url: &str, mee_url: &str, logical: &[&str]) -> TestResult<Self> {
        let url = admin_url;
        reachable(url).await?;
        let opts =
            Opts::from_url(url).map_err(|e| TestFailure::new(format!("bad MySQL URL: {e}")))?;
        let mut admin = Conn::new(opts)
            .await
            .map_err(|e| Service::Mysql.unreachable(&host_port(url), e))?;
        let prefix = unique_name("t");
        let mut databases = BTreeMap::new();
        for name in logical {
            let physical = format!("{prefix}_{name}");
            admin
                .query_drop(format!(
                    "CREATE DATABASE `{physical}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                ))
                .await?;
            databases.insert((*name).to_string(), physical);
        }
        if let Some(first) = databases.values().next() {
            admin.query_drop(format!("USE `{first}`")).await?;
        }
        Ok(TestMysql {
            prefix,
            databases,
            admin,
            admin_url: admin_url.to_string(),
            mee_url: mee_url.to_string(),
        })
    }

    /// The random prefix shared by this test's databases (also usable for index and topic names).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The physical name of a logical database.
    pub fn db(&self, logical: &str) -> &str {
        self.databases.get(logical).map_or_else(
            || {
                panic!(
                    "database `{logical}` was not created by this test; pass it to with_databases"
                )
            },
            String::as_str,
        )
    }

    /// Logical -> physical database names, as the runtime's `--database` mapping wants them.
    pub fn database_map(&self) -> &BTreeMap<String, String> {
        &self.databases
    }

    /// The admin connection (its default database is the first one created).
    pub fn admin(&mut self) -> &mut Conn {
        &mut self.admin
    }

    /// A new admin connection, e.g. for a concurrent writer.
    pub async fn admin_conn(&self) -> TestResult<Conn> {
        Ok(Conn::from_url(self.admin_url.as_str()).await?)
    }

    /// URL of mee's own (least-privilege) account.
    pub fn mee_url(&self) -> String {
        self.mee_url.clone()
    }

    /// URL of the admin account these databases were created with.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Runs statements separated by `;` on the admin connection.
    pub async fn exec(&mut self, sql: &str) -> TestResult {
        self.admin.query_drop(sql).await?;
        Ok(())
    }

    pub async fn query<T: mysql_async::prelude::FromRow + Send + 'static>(
        &mut self,
        sql: &str,
    ) -> TestResult<Vec<T>> {
        Ok(self.admin.query(sql).await?)
    }

    /// Drops this test's databases (tests that pass call it; leftovers are harmless scratch).
    pub async fn drop_databases(mut self) -> TestResult {
        for physical in self.databases.values() {
            self.admin
                .query_drop(format!("DROP DATABASE IF EXISTS `{physical}`"))
                .await?;
        }
        Ok(())
    }
}

/// Fails fast with the clear message when nothing listens on the MySQL port.
pub(crate) async fn reachable(url: &str) -> TestResult {
    let addr = host_port(url);
    match tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(&addr),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Service::Mysql.unreachable(&addr, e)),
        Err(_) => Err(Service::Mysql.unreachable(&addr, "no answer within 3s")),
    }
}
