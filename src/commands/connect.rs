//! Where mee's services are, shared by the commands that talk to them.

use clap::Args;
use mee_runtime::es::EsClient;
use mee_runtime::mysql::{Source, SourceConfig};
use mee_runtime::state::{RetryConfig, RetryTable, StateConfig, StateStore};

/// Connections to MySQL and Elasticsearch.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The MySQL/MariaDB server, as mee's own account: mysql://user:password@host:port
    #[arg(
        long,
        env = "MEE_MYSQL_URL",
        hide_env_values = true,
        value_name = "URL",
        default_value = "mysql://mee:mee@127.0.0.1:13306"
    )]
    pub mysql: String,
    /// Read a logical database (as pipelines name it) from another physical one (repeatable)
    #[arg(long = "database", value_name = "LOGICAL=PHYSICAL")]
    pub database_overrides: Vec<String>,
    /// The Elasticsearch/OpenSearch server
    #[arg(
        long,
        env = "MEE_ES_URL",
        value_name = "URL",
        default_value = "http://127.0.0.1:19200"
    )]
    pub es: String,
    /// Prefix every alias with this text (several environments on one cluster)
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub alias_prefix: String,
    /// The index that holds mee's pipeline state and checkpoints
    #[arg(long, default_value = "mee-state")]
    pub state_index: String,
    /// The retry table: documents that failed to build or were rejected
    #[arg(long, default_value = "mee-retry")]
    pub retry_index: String,
}

/// The connected services.
pub struct Services {
    pub source: Source,
    pub es: EsClient,
    pub state: StateStore,
    pub retry: RetryTable,
}

impl ConnectArgs {
    pub async fn connect(&self) -> Result<Services, String> {
        let config = SourceConfig::new(self.mysql.clone())
            .with_overrides(&self.database_overrides)
            .map_err(|e| e.to_string())?;
        let source = Source::connect(config).await.map_err(|e| e.to_string())?;
        let es = EsClient::new(&self.es).map_err(|e| e.to_string())?;
        es.ping().await.map_err(|e| e.to_string())?;
        let state = StateStore::new(
            es.clone(),
            StateConfig {
                index: self.state_index.clone(),
                ..StateConfig::default()
            },
        )
        .map_err(|e| e.to_string())?;
        let retry = RetryTable::new(
            es.clone(),
            RetryConfig {
                index: self.retry_index.clone(),
                ..RetryConfig::default()
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(Services {
            source,
            es,
            state,
            retry,
        })
    }

    pub fn alias(&self, alias: &str) -> String {
        format!("{}{alias}", self.alias_prefix)
    }
}

/// A multi-threaded runtime for a command.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}
