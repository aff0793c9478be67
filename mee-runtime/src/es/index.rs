//! Index management: create, bulk-load settings, delete, list, aliases, refresh, count, get and
//! whole-index scans. Methods on [`EsClient`], one request each unless stated otherwise.

use super::client::{EsClient, Method, encode_segment};
use super::error::{EsError, EsResult};
use serde::Deserialize;
use serde_json::{Value, json};

/// One row of `_cat/indices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    pub name: String,
    pub health: String,
    pub status: String,
    pub docs_count: u64,
}

/// The settings a bulk load changes, as they were before it, to put back afterwards.
/// `None` means the setting was not set explicitly (the cluster default applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSettings {
    pub number_of_replicas: Option<String>,
    pub refresh_interval: Option<String>,
}

/// A document read by id.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedDoc {
    pub index: String,
    pub id: String,
    pub version: Option<u64>,
    pub source: Value,
}

/// One hit of a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub index: String,
    pub id: String,
    pub routing: Option<String>,
    pub version: Option<u64>,
    pub source: Value,
}

impl Hit {
    /// One element of `hits.hits` in a search or scroll answer (an absent `_index` or `_id` reads
    /// as empty, an absent `_routing` or `_version` as none).
    pub(super) fn from_json(mut hit: Value) -> Hit {
        Hit {
            index: hit["_index"].as_str().unwrap_or_default().to_string(),
            id: hit["_id"].as_str().unwrap_or_default().to_string(),
            routing: hit["_routing"].as_str().map(str::to_string),
            version: hit["_version"].as_u64(),
            source: hit["_source"].take(),
        }
    }
}

/// What [`EsClient::move_alias`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasMove {
    /// The indices the alias pointed at before (the new index excluded).
    pub removed_from: Vec<String>,
}

fn index_path(index: &str, rest: &str) -> String {
    format!("/{}{rest}", encode_list(index))
}

/// Encodes a comma-separated list of index names or patterns, keeping `,` and `*` literal.
fn encode_list(names: &str) -> String {
    names
        .split(',')
        .map(|n| {
            n.split('*')
                .map(encode_segment)
                .collect::<Vec<_>>()
                .join("*")
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl EsClient {
    /// Creates `index` with the caller's `settings` and `mappings` (either may be `Value::Null`).
    pub async fn create_index(
        &self,
        index: &str,
        settings: &Value,
        mappings: &Value,
    ) -> EsResult<()> {
        let mut body = serde_json::Map::new();
        if !settings.is_null() {
            body.insert("settings".into(), settings.clone());
        }
        if !mappings.is_null() {
            body.insert("mappings".into(), mappings.clone());
        }
        self.request_json(
            Method::Put,
            &index_path(index, ""),
            &[],
            Some(&Value::Object(body)),
        )
        .await?;
        Ok(())
    }

    pub async fn index_exists(&self, index: &str) -> EsResult<bool> {
        let path = index_path(index, "");
        let resp = self.send(Method::Head, &path, &[], None).await?;
        match resp.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(resp.to_error(Method::Head, &path)),
        }
    }

    /// Deletes `index` (a concrete name, or a comma-separated list). Returns `false` when it did not
    /// exist. Wildcards are not expanded here: clusters often forbid them for deletes.
    pub async fn delete_index(&self, index: &str) -> EsResult<bool> {
        let path = index_path(index, "");
        let resp = self.send(Method::Delete, &path, &[], None).await?;
        match resp.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(resp.to_error(Method::Delete, &path)),
        }
    }

    /// Reads the current replica count and refresh interval, then sets the load settings
    /// (`number_of_replicas: 0`, `refresh_interval: -1`): no replication and no refreshes while
    /// the index is filled, which is much cheaper for the cluster.
    pub async fn begin_bulk_load(&self, index: &str) -> EsResult<SavedSettings> {
        let path = index_path(index, "/_settings");
        let current = self.request_json(Method::Get, &path, &[], None).await?;
        // The answer is keyed by the concrete index name (an alias resolves to it).
        let settings = current
            .as_object()
            .and_then(|m| m.values().next())
            .map(|v| &v["settings"]["index"]);
        let text = |key: &str| -> Option<String> {
            settings.and_then(|s| match &s[key] {
                Value::String(t) => Some(t.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let saved = SavedSettings {
            number_of_replicas: text("number_of_replicas"),
            refresh_interval: text("refresh_interval"),
        };
        self.put_settings(
            index,
            &json!({"index": {"number_of_replicas": 0, "refresh_interval": "-1"}}),
        )
        .await?;
        Ok(saved)
    }

    /// Puts back what [`EsClient::begin_bulk_load`] saved; an unset value resets to the default.
    pub async fn end_bulk_load(&self, index: &str, saved: &SavedSettings) -> EsResult<()> {
        let value =
            |v: &Option<String>| v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()));
        let body = json!({"index": {
            "number_of_replicas": value(&saved.number_of_replicas),
            "refresh_interval": value(&saved.refresh_interval),
        }});
        self.put_settings(index, &body).await
    }

    pub async fn put_settings(&self, index: &str, settings: &Value) -> EsResult<()> {
        self.request_json(
            Method::Put,
            &index_path(index, "/_settings"),
            &[],
            Some(settings),
        )
        .await?;
        Ok(())
    }

    /// Indices whose names match `pattern` (`*` wildcards, comma-separated lists allowed), sorted by
    /// name. A pattern matching nothing gives an empty list, and so does a missing concrete name.
    pub async fn list_indices(&self, pattern: &str) -> EsResult<Vec<IndexInfo>> {
        #[derive(Deserialize)]
        struct Row {
            index: String,
            #[serde(default)]
            health: Option<String>,
            #[serde(default)]
            status: Option<String>,
            #[serde(rename = "docs.count", default)]
            docs_count: Option<String>,
        }
        let path = format!("/_cat/indices/{}", encode_list(pattern));
        let query = [("format", "json"), ("expand_wildcards", "open,closed")];
        let resp = self.send(Method::Get, &path, &query, None).await?;
        if resp.status == 404 {
            return Ok(Vec::new());
        }
        if !resp.is_success() {
            return Err(resp.to_error(Method::Get, &path));
        }
        let rows: Vec<Row> = resp.json(Method::Get, &path)?;
        let mut out: Vec<IndexInfo> = rows
            .into_iter()
            .map(|r| IndexInfo {
                name: r.index,
                health: r.health.unwrap_or_default(),
                status: r.status.unwrap_or_default(),
                docs_count: r.docs_count.and_then(|c| c.parse().ok()).unwrap_or(0),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Deletes every index whose name starts with `prefix`, listing them first and deleting by
    /// name (in groups, to keep URLs short). Returns the deleted names.
    pub async fn delete_indices_with_prefix(&self, prefix: &str) -> EsResult<Vec<String>> {
        if prefix.is_empty() {
            return Err(EsError::Protocol {
                method: "DELETE".into(),
                path: "/".into(),
                reason: "refusing to delete indices with an empty prefix (that is every index)"
                    .into(),
            });
        }
        let names: Vec<String> = self
            .list_indices(&format!("{prefix}*"))
            .await?
            .into_iter()
            .map(|i| i.name)
            .collect();
        for group in names.chunks(50) {
            self.delete_index(&group.join(",")).await?;
        }
        Ok(names)
    }

    /// The indices `alias` points at, sorted; empty when the alias does not exist.
    pub async fn alias_targets(&self, alias: &str) -> EsResult<Vec<String>> {
        let path = format!("/_alias/{}", encode_segment(alias));
        let resp = self.send(Method::Get, &path, &[], None).await?;
        if resp.status == 404 {
            return Ok(Vec::new());
        }
        if !resp.is_success() {
            return Err(resp.to_error(Method::Get, &path));
        }
        let body: Value = resp.json(Method::Get, &path)?;
        let mut names: Vec<String> = body
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        Ok(names)
    }

    /// Points `alias` at `index` alone, in ONE `_aliases` request that removes it from every index
    /// it points at now and adds it to `index`: readers see either the old or the new set, never
    /// a missing alias. If the alias changes between the read and the move (another process moved
    /// it, or an old index was deleted), the request fails as a whole and is retried a few times
    /// with a fresh read.
    pub async fn move_alias(&self, alias: &str, index: &str) -> EsResult<AliasMove> {
        let mut last_error = None;
        for _ in 0..5 {
            let current = self.alias_targets(alias).await?;
            let removed_from: Vec<String> = current.into_iter().filter(|i| i != index).collect();
            let mut actions: Vec<Value> = removed_from
                .iter()
                .map(|old| json!({"remove": {"index": old, "alias": alias}}))
                .collect();
            actions.push(json!({"add": {"index": index, "alias": alias}}));
            let body = json!({ "actions": actions });
            let resp = self
                .send_json(Method::Post, "/_aliases", &[], Some(&body))
                .await?;
            if resp.is_success() {
                tracing::info!(alias, index, removed_from = ?removed_from, "alias moved");
                return Ok(AliasMove { removed_from });
            }
            let error = resp.to_error(Method::Post, "/_aliases");
            // A 404 names a removed index or alias that vanished since the read: read again. A
            // missing *target* index also gives 404, so the retries are bounded.
            if resp.status != 404 {
                return Err(error);
            }
            last_error = Some(error);
        }
        Err(last_error.unwrap_or(EsError::Abandoned))
    }

    /// Makes recent writes visible to search.
    pub async fn refresh(&self, index: &str) -> EsResult<()> {
        self.request_json(Method::Post, &index_path(index, "/_refresh"), &[], None)
            .await?;
        Ok(())
    }

    /// `_count` of `index` (or alias), optionally restricted by `query` (the value of `"query"`).
    pub async fn count(&self, index: &str, query: Option<&Value>) -> EsResult<u64> {
        let path = index_path(index, "/_count");
        let body = query.map(|q| json!({ "query": q }));
        let answer = self
            .request_json(Method::Post, &path, &[], body.as_ref())
            .await?;
        answer["count"].as_u64().ok_or_else(|| EsError::Protocol {
            method: "POST".into(),
            path,
            reason: format!("no `count` in {answer}"),
        })
    }

    /// Reads one document by id; `None` when it does not exist.
    pub async fn get_doc(
        &self,
        index: &str,
        id: &str,
        routing: Option<&str>,
    ) -> EsResult<Option<FetchedDoc>> {
        let path = index_path(index, &format!("/_doc/{}", encode_segment(id)));
        let query: Vec<(&str, &str)> = routing.map(|r| vec![("routing", r)]).unwrap_or_default();
        let resp = self.send(Method::Get, &path, &query, None).await?;
        if resp.status == 404 {
            return Ok(None);
        }
        if !resp.is_success() {
            return Err(resp.to_error(Method::Get, &path));
        }
        let body: Value = resp.json(Method::Get, &path)?;
        if body["found"] != Value::Bool(true) {
            return Ok(None);
        }
        Ok(Some(FetchedDoc {
            index: body["_index"].as_str().unwrap_or_default().to_string(),
            id: body["_id"].as_str().unwrap_or(id).to_string(),
            version: body["_version"].as_u64(),
            source: body["_source"].clone(),
        }))
    }

    /// Starts a scan over the whole of `index` in pages, for `mee verify`.
    pub fn scan(&self, index: &str, options: ScanOptions) -> Scan {
        Scan {
            client: self.clone(),
            index: index.to_string(),
            options,
            after: None,
            done: false,
        }
    }
}

/// How [`EsClient::scan`] pages.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The sort field; it must be unique per document for paging to be exact. `_id` works on
    /// OpenSearch; on Elasticsearch 8 sorting by `_id` is disabled by default, so use a keyword
    /// field that holds the id.
    pub sort_field: String,
    pub page_size: usize,
    /// The `query` clause; `None` matches everything.
    pub query: Option<Value>,
    /// `_source` filtering (e.g. `false` or a list of fields); `None` returns the whole source.
    pub source: Option<Value>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            sort_field: "_id".into(),
            page_size: 1000,
            query: None,
            source: None,
        }
    }
}

/// A `search_after` scan: each call to [`Scan::next_page`] returns the next page in sort order.
/// No point-in-time is used (the test server has none), so the scan sees a moving index if it is
/// written meanwhile; `mee verify` compares a quiet index.
#[derive(Debug)]
pub struct Scan {
    client: EsClient,
    index: String,
    options: ScanOptions,
    after: Option<Value>,
    done: bool,
}

impl Scan {
    /// The next page, or `None` after the last one.
    pub async fn next_page(&mut self) -> EsResult<Option<Vec<Hit>>> {
        if self.done {
            return Ok(None);
        }
        let mut body = json!({
            "size": self.options.page_size,
            "sort": [{ self.options.sort_field.as_str(): "asc" }],
            "version": true,
            "track_total_hits": false,
            "query": self.options.query.clone().unwrap_or_else(|| json!({"match_all": {}})),
        });
        if let Some(source) = &self.options.source {
            body["_source"] = source.clone();
        }
        if let Some(after) = &self.after {
            body["search_after"] = after.clone();
        }
        let path = index_path(&self.index, "/_search");
        let answer = self
            .client
            .request_json(Method::Post, &path, &[], Some(&body))
            .await?;
        let hits = answer["hits"]["hits"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if hits.len() < self.options.page_size {
            self.done = true;
        }
        if hits.is_empty() {
            return Ok(None);
        }
        self.after = hits.last().map(|h| h["sort"].clone());
        if self.after.as_ref().is_none_or(|a| !a.is_array()) {
            return Err(EsError::Protocol {
                method: "POST".into(),
                path,
                reason: "hits carry no `sort` values, so the scan cannot continue".into(),
            });
        }
        Ok(Some(hits.into_iter().map(Hit::from_json).collect()))
    }
}
