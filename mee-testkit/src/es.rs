//! A test's own index namespace on the OpenSearch-compatible server.

use crate::env::{Service, es_url, host_port, unique_name};
use crate::{TestFailure, TestResult};
use elasticsearch::http::transport::Transport;
use elasticsearch::{Elasticsearch, SearchParts};
use serde_json::{Value, json};

/// A client plus a random prefix: every index or alias a test creates is `t_<random>_<name>`.
pub struct TestEs {
    prefix: String,
    url: String,
    client: Elasticsearch,
}

impl TestEs {
    pub async fn new() -> TestResult<Self> {
        Self::at(&es_url()).await
    }

    /// Like [`TestEs::new`] against an explicit URL.
    pub async fn at(url: &str) -> TestResult<Self> {
        let url = url.to_string();
        let transport = Transport::single_node(&url)
            .map_err(|e| TestFailure::new(format!("bad Elasticsearch URL {url}: {e}")))?;
        let client = Elasticsearch::new(transport);
        let addr = host_port(&url);
        match client.ping().send().await {
            Ok(r) if r.status_code().is_success() => {}
            Ok(r) => {
                return Err(Service::Es.unreachable(&addr, format!("HTTP {}", r.status_code())));
            }
            Err(e) => return Err(Service::Es.unreachable(&addr, e)),
        }
        Ok(TestEs {
            prefix: unique_name("t"),
            url,
            client,
        })
    }

    /// Uses `prefix` (e.g. a [`crate::TestMysql::prefix`]) instead of a new random one.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `t_<random>_<name>`.
    pub fn name(&self, name: &str) -> String {
        format!("{}_{name}", self.prefix)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &Elasticsearch {
        &self.client
    }

    /// Every document of an index or alias (`_source` plus `_id`), sorted by `_id`.
    pub async fn all_docs(&self, index: &str) -> TestResult<Vec<(String, Value)>> {
        let resp = self
            .client
            .search(SearchParts::Index(&[index]))
            .body(json!({"query": {"match_all": {}}, "size": 10000}))
            .send()
            .await?;
        let status = resp.status_code();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            return Err(TestFailure::new(format!(
                "search {index} failed: HTTP {status}: {body}"
            )));
        }
        let mut docs: Vec<(String, Value)> = body["hits"]["hits"]
            .as_array()
            .map(|hits| {
                hits.iter()
                    .map(|h| {
                        (
                            h["_id"].as_str().unwrap_or_default().to_string(),
                            h["_source"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        docs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(docs)
    }

    pub fn address(&self) -> String {
        host_port(&self.url)
    }
}
