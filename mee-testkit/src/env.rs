//! Where the services are (environment variables with the defaults of `scripts/services.sh`), and
//! the one-sentence message when one does not answer.

use crate::TestFailure;
use rand::Rng;

/// The three services the integration tests use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Mysql,
    Kafka,
    Es,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Mysql => "MariaDB",
            Service::Kafka => "the Kafka broker (Tansu)",
            Service::Es => "the OpenSearch server (osmem)",
        }
    }

    fn script_arg(self) -> &'static str {
        match self {
            Service::Mysql => "mysql",
            Service::Kafka => "kafka",
            Service::Es => "es",
        }
    }

    /// The failure a test reports when this service does not answer.
    pub fn unreachable(self, address: &str, cause: impl std::fmt::Display) -> TestFailure {
        TestFailure::new(format!(
            "{} is not reachable at {address} ({cause}). Start it with `scripts/services.sh start {}` \
             (or run `scripts/test.sh`, which starts all services and runs every test).",
            self.name(),
            self.script_arg()
        ))
    }
}

fn var_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// mee's own account: SELECT, REPLICATION SLAVE, BINLOG MONITOR.
pub fn mysql_url() -> String {
    var_or("MEE_MYSQL_URL", "mysql://mee:mee@127.0.0.1:13306")
}

/// The tests' account, which may create schemas and change data.
pub fn mysql_admin_url() -> String {
    var_or(
        "MEE_MYSQL_ADMIN_URL",
        "mysql://mee_admin:mee_admin@127.0.0.1:13306",
    )
}

pub fn kafka_brokers() -> String {
    var_or("MEE_KAFKA_BROKERS", "127.0.0.1:19092")
}

pub fn es_url() -> String {
    var_or("MEE_ES_URL", "http://127.0.0.1:19200")
}

/// `prefix_` + 10 random lowercase letters/digits: unique per test, valid as a MySQL database,
/// an Elasticsearch index prefix and a Kafka topic name.
pub fn unique_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}_{tail}")
}

/// `host:port` of a URL like `mysql://u:p@host:port/db` or `http://host:port`.
pub(crate) fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_strips_scheme_credentials_and_path() {
        assert_eq!(
            host_port("mysql://a:b@127.0.0.1:13306/db"),
            "127.0.0.1:13306"
        );
        assert_eq!(host_port("http://127.0.0.1:19200"), "127.0.0.1:19200");
    }

    #[test]
    fn unique_names_differ_and_keep_their_prefix() {
        let a = unique_name("t");
        assert!(a.starts_with("t_") && a.len() == 12, "{a}");
        assert_ne!(a, unique_name("t"));
    }

    #[test]
    fn unreachable_message_names_service_and_command() {
        let msg = Service::Es
            .unreachable("127.0.0.1:1", "connection refused")
            .to_string();
        assert!(
            msg.contains("osmem") && msg.contains("scripts/services.sh start es"),
            "{msg}"
        );
    }
}
