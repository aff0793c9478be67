//! Where the source is and how to talk to it.

use mysql_async::{Opts, OptsBuilder, PoolConstraints, PoolOpts};
use std::collections::BTreeMap;
use std::time::Duration;

/// Session settings every connection runs, on connect and after every reset: utf8mb4 so that
/// text arrives as UTF-8 whatever the server default is, and UTC so that `TIMESTAMP` columns read
/// as the same `DateTime` the binlog decoder makes of their Unix seconds.
pub const SESSION_SETUP: &str = "SET NAMES utf8mb4, time_zone = '+00:00'";

/// The most placeholders one prepared statement may have (the protocol counts them in 16 bits).
pub const MAX_PLACEHOLDERS: usize = 65_535;

/// A configuration that cannot work, in one sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// How to reach the source and how hard to use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    /// `mysql://user:password@host:port`. A database path in the URL is allowed but not needed:
    /// every statement names its database.
    pub url: String,
    /// Logical database name (as pipelines write it) -> physical name on this server. A logical
    /// name that is not listed is its own physical name.
    pub databases: BTreeMap<String, String>,
    /// Connections the pool keeps open at least.
    pub pool_min: usize,
    /// Connections the pool opens at most; also bounds [`Source::fetch_concurrent`]
    /// (a snapshot uses one more connection of its own).
    ///
    /// [`Source::fetch_concurrent`]: super::Source::fetch_concurrent
    pub pool_max: usize,
    /// How long to wait for a connection (a new one or a free pooled one).
    pub connect_timeout: Duration,
    /// A server-side limit per statement (MariaDB's `max_statement_time`), when set.
    pub statement_timeout: Option<Duration>,
    /// Keys per batched look-up; larger key sets are split into several statements.
    pub max_keys_per_query: usize,
    /// Prepared statements cached per connection. Each batched statement has up to
    /// `log2(max_keys_per_query) + 2` variants (one per padded key-list size).
    pub stmt_cache_size: usize,
    /// Statements in flight at once for reads that cannot be batched (`executeSQL`, one
    /// statement per document): one on the reading session, the rest on pooled connections
    /// ([`Session::fetch_each`]); at most `pool_max`. The default, 4, is half the default pool,
    /// so parallel readers and the sync still find free connections.
    ///
    /// [`Session::fetch_each`]: super::Session::fetch_each
    pub concurrent_reads: usize,
}

impl SourceConfig {
    /// Defaults for everything but the URL: a pool of 1-8 connections, 10 s to connect, no
    /// statement limit, 1000 keys per look-up, 4 unbatchable reads at a time.
    pub fn new(url: impl Into<String>) -> Self {
        SourceConfig {
            url: url.into(),
            databases: BTreeMap::new(),
            pool_min: 1,
            pool_max: 8,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: None,
            max_keys_per_query: 1000,
            stmt_cache_size: 256,
            concurrent_reads: 4,
        }
    }

    /// Maps a logical database to its physical name.
    pub fn with_database(
        mut self,
        logical: impl Into<String>,
        physical: impl Into<String>,
    ) -> Self {
        self.databases.insert(logical.into(), physical.into());
        self
    }

    /// Applies `--database logical=physical` overrides.
    pub fn with_overrides<I, S>(mut self, overrides: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for o in overrides {
            let (logical, physical) = parse_database_override(o.as_ref())?;
            self.databases.insert(logical, physical);
        }
        Ok(self)
    }

    /// The physical name of a logical database (itself when not mapped).
    pub fn physical<'a>(&'a self, logical: &'a str) -> &'a str {
        self.databases.get(logical).map_or(logical, String::as_str)
    }

    /// `user@host:port` of the URL, for messages (never the password).
    pub fn server(&self) -> String {
        match Opts::from_url(&self.url) {
            Ok(o) => format!(
                "{}@{}:{}",
                o.user().unwrap_or(""),
                o.ip_or_hostname(),
                o.tcp_port()
            ),
            Err(_) => redact_url(&self.url),
        }
    }

    /// The driver options: the URL plus the session setup, pool limits and statement cache.
    ///
    /// Pooled connections are not reset when they go back to the pool: they only ever run reads
    /// with the fixed session settings above, and a reset would drop their prepared statements,
    /// which the batched look-ups reuse. Snapshot transactions use a connection of their own.
    pub fn opts(&self) -> Result<Opts, ConfigError> {
        let base = Opts::from_url(&self.url).map_err(|e| {
            ConfigError(format!(
                "the MySQL URL `{}` is not valid ({e}); write it as mysql://user:password@host:port",
                redact_url(&self.url)
            ))
        })?;
        if self.pool_max == 0 || self.pool_min > self.pool_max {
            return Err(ConfigError(format!(
                "the MySQL pool size must satisfy 0 <= min <= max and max >= 1, got min {} and max {}",
                self.pool_min, self.pool_max
            )));
        }
        if self.max_keys_per_query == 0 {
            return Err(ConfigError(
                "the number of keys per MySQL look-up must be at least 1".to_string(),
            ));
        }
        let constraints = PoolConstraints::new(self.pool_min, self.pool_max).ok_or_else(|| {
            ConfigError(format!(
                "invalid MySQL pool size {}..{}",
                self.pool_min, self.pool_max
            ))
        })?;
        let pool = PoolOpts::default()
            .with_constraints(constraints)
            .with_reset_connection(false);
        let mut setup = vec![SESSION_SETUP.to_string()];
        if let Some(limit) = self.statement_timeout {
            setup.push(format!(
                "SET SESSION max_statement_time = {:.3}",
                limit.as_secs_f64()
            ));
        }
        Ok(OptsBuilder::from_opts(base)
            .setup(setup)
            .pool_opts(pool)
            .stmt_cache_size(self.stmt_cache_size)
            .into())
    }
}

/// Parses `logical=physical` (`--database shop=t_abc_shop`).
pub fn parse_database_override(text: &str) -> Result<(String, String), ConfigError> {
    match text.split_once('=') {
        Some((l, p)) if !l.trim().is_empty() && !p.trim().is_empty() => {
            Ok((l.trim().to_string(), p.trim().to_string()))
        }
        _ => Err(ConfigError(format!(
            "the database override `{text}` is not `logical=physical` (e.g. `shop=shop_staging`)"
        ))),
    }
}

/// The URL with its password replaced, for messages about URLs that do not parse.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((cred, host)) => {
            let user = cred.split_once(':').map_or(cred, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_and_unmapped_names_are_identity() {
        let c = SourceConfig::new("mysql://mee:secret@127.0.0.1:13306")
            .with_overrides(["shop=t_abc_shop", " crm = t_abc_crm "])
            .unwrap();
        assert_eq!(c.physical("shop"), "t_abc_shop");
        assert_eq!(c.physical("crm"), "t_abc_crm");
        assert_eq!(c.physical("other"), "other");
        assert!(parse_database_override("shop").is_err());
        assert!(parse_database_override("=x").is_err());
        assert!(parse_database_override("x=").is_err());
    }

    #[test]
    fn server_and_errors_never_show_the_password() {
        let c = SourceConfig::new("mysql://mee:secret@127.0.0.1:13306");
        assert_eq!(c.server(), "mee@127.0.0.1:13306");
        let bad = SourceConfig::new("mysql://mee:secret@127.0.0.1:notaport");
        let err = bad.opts().unwrap_err().to_string();
        assert!(!err.contains("secret") && err.contains("mee:***@"), "{err}");
        assert!(!bad.server().contains("secret"));
    }

    #[test]
    fn opts_carry_the_session_setup_and_pool_limits() {
        let mut c = SourceConfig::new("mysql://mee:mee@127.0.0.1:13306");
        c.statement_timeout = Some(Duration::from_millis(2500));
        let o = c.opts().unwrap();
        assert_eq!(o.setup()[0], SESSION_SETUP);
        assert_eq!(o.setup()[1], "SET SESSION max_statement_time = 2.500");
        assert!(!o.pool_opts().reset_connection());
        assert_eq!(o.pool_opts().constraints().max(), 8);
        c.pool_min = 9;
        assert!(c.opts().is_err());
    }
}
