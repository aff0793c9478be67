//! Document-level Elasticsearch requests with optimistic concurrency, shared by the state store
//! and the retry table: realtime reads that return `_seq_no`/`_primary_term`, conditional writes,
//! `_mget`, `_bulk` with per-item answers, searches, and index creation with a fixed mapping.
//!
//! Every request is retried a few times on transport errors, 429 and 502-504, because a state
//! write that fails on a blip would otherwise stop a sync that is otherwise healthy.

use super::error::{StateError, StateResult};
use crate::es::bulk::backoff_delay;
use crate::es::client::{EsClient, Method, RawResponse, encode_segment, method_name};
use crate::es::error::EsError;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

/// The optimistic-concurrency token of a stored document: Elasticsearch's `_seq_no` and
/// `_primary_term` at the time it was read or written. A conditional write succeeds only if the
/// document still carries exactly this pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeqNo {
    pub seq_no: u64,
    pub primary_term: u64,
}

/// How a write relates to what is stored.
#[derive(Clone, Copy, Debug)]
pub(crate) enum WriteCond {
    /// Only if no document with this id exists (`op_type=create`).
    Create,
    /// Only if the document is still at this sequence number.
    IfMatch(SeqNo),
}

/// The answer to a conditional write.
pub(crate) enum PutOutcome {
    Written(SeqNo),
    /// 409: the condition did not hold.
    Conflict,
}

/// Retry policy for single requests.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestPolicy {
    pub attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Default for RequestPolicy {
    fn default() -> Self {
        RequestPolicy {
            attempts: 5,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
        }
    }
}

fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Sends a request, retrying transport errors and overload answers with backoff. The last answer
/// (whatever its status) or the last transport error is returned.
pub(crate) async fn send(
    client: &EsClient,
    policy: RequestPolicy,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<(Bytes, &'static str)>,
) -> StateResult<RawResponse> {
    let attempts = policy.attempts.max(1);
    let mut attempt = 1;
    loop {
        let result = client.send(method, path, query, body.clone()).await;
        let retry = match &result {
            Ok(resp) => is_retryable_status(resp.status),
            Err(e) => e.is_transient(),
        };
        if !retry || attempt >= attempts {
            return result.map_err(StateError::from);
        }
        let delay = backoff_delay(
            attempt,
            policy.backoff_initial,
            policy.backoff_max,
            jitter_fraction(attempt),
        );
        match &result {
            Ok(resp) => {
                tracing::debug!(path, status = resp.status, attempt, "state request retried")
            }
            Err(e) => tracing::debug!(path, error = %e, attempt, "state request retried"),
        }
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// A spread for retry delays that differs between processes and attempts; quality does not
/// matter, only that two writers retrying together do not stay in lock step.
fn jitter_fraction(attempt: u32) -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = nanos
        .wrapping_mul(2_654_435_761)
        .wrapping_add(attempt.wrapping_mul(40_503))
        ^ std::process::id();
    f64::from(mixed % 1000) / 1000.0
}

fn json_body(method: Method, path: &str, value: &Value) -> StateResult<(Bytes, &'static str)> {
    let bytes = serde_json::to_vec(value).map_err(|e| {
        StateError::Es(EsError::Protocol {
            method: method_name(method).to_string(),
            path: path.to_string(),
            reason: format!("cannot serialise the request body: {e}"),
        })
    })?;
    Ok((Bytes::from(bytes), "application/json"))
}

fn protocol(method: Method, path: &str, reason: String) -> StateError {
    StateError::Es(EsError::Protocol {
        method: method_name(method).to_string(),
        path: path.to_string(),
        reason,
    })
}

pub(crate) fn doc_path(index: &str, id: &str) -> String {
    format!("/{}/_doc/{}", encode(index), encode(id))
}

/// Percent-encodes one path segment (ids contain `/`).
fn encode(segment: &str) -> String {
    encode_segment(segment)
}

/// Whether an error answer says the index itself is missing (as opposed to a missing document).
fn is_index_missing(resp: &RawResponse) -> bool {
    resp.status == 404 && String::from_utf8_lossy(&resp.body).contains("index_not_found_exception")
}

fn seq_of(body: &Value) -> Option<SeqNo> {
    Some(SeqNo {
        seq_no: body["_seq_no"].as_u64()?,
        primary_term: body["_primary_term"].as_u64()?,
    })
}

/// Reads a document in realtime (`GET _doc` sees every acknowledged write, refreshed or not).
/// `None` when the document or the whole index does not exist.
pub(crate) async fn get(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
    id: &str,
) -> StateResult<Option<(Value, SeqNo)>> {
    let path = doc_path(index, id);
    let resp = send(client, policy, Method::Get, &path, &[], None).await?;
    if resp.status == 404 {
        return Ok(None);
    }
    if !resp.is_success() {
        return Err(resp.to_error(Method::Get, &path).into());
    }
    let mut body: Value = resp.json(Method::Get, &path)?;
    if body["found"] != Value::Bool(true) {
        return Ok(None);
    }
    let seq = seq_of(&body).ok_or_else(|| {
        protocol(
            Method::Get,
            &path,
            "the answer carries no `_seq_no`/`_primary_term`; this server does not support \
             optimistic concurrency control"
                .into(),
        )
    })?;
    Ok(Some((body["_source"].take(), seq)))
}

/// Writes a whole document under a condition. The write is not refreshed: realtime GETs see it
/// at once, and searches (used only for listings) see it within the refresh interval, while
/// `refresh=wait_for` would add up to a second to every checkpoint write.
pub(crate) async fn put(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
    id: &str,
    source: &Value,
    cond: WriteCond,
) -> StateResult<PutOutcome> {
    let path = doc_path(index, id);
    let (seq_no, term);
    let query: Vec<(&str, &str)> = match cond {
        WriteCond::Create => vec![("op_type", "create")],
        WriteCond::IfMatch(s) => {
            seq_no = s.seq_no.to_string();
            term = s.primary_term.to_string();
            vec![("if_seq_no", &seq_no), ("if_primary_term", &term)]
        }
    };
    let body = json_body(Method::Put, &path, source)?;
    let resp = send(client, policy, Method::Put, &path, &query, Some(body)).await?;
    if resp.status == 409 {
        return Ok(PutOutcome::Conflict);
    }
    if !resp.is_success() {
        return Err(resp.to_error(Method::Put, &path).into());
    }
    let answer: Value = resp.json(Method::Put, &path)?;
    let seq = seq_of(&answer).ok_or_else(|| {
        protocol(
            Method::Put,
            &path,
            "the answer carries no `_seq_no`/`_primary_term`".into(),
        )
    })?;
    Ok(PutOutcome::Written(seq))
}

/// Deletes a document if it is still at `seq`. `Ok(false)` on a conflict; a document that is
/// already gone counts as deleted.
pub(crate) async fn delete(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
    id: &str,
    seq: SeqNo,
) -> StateResult<bool> {
    let path = doc_path(index, id);
    let (seq_no, term) = (seq.seq_no.to_string(), seq.primary_term.to_string());
    let query = [("if_seq_no", seq_no.as_str()), ("if_primary_term", &term)];
    let resp = send(client, policy, Method::Delete, &path, &query, None).await?;
    match resp.status {
        409 => Ok(false),
        404 => Ok(true),
        _ if resp.is_success() => Ok(true),
        _ => Err(resp.to_error(Method::Delete, &path).into()),
    }
}

/// Reads many documents in realtime with one `_mget`; the answer is in the order of `ids`.
pub(crate) async fn mget(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
    ids: &[String],
) -> StateResult<Vec<Option<(Value, SeqNo)>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let path = format!("/{}/_mget", encode(index));
    let body = json_body(Method::Post, &path, &json!({ "ids": ids }))?;
    let resp = send(client, policy, Method::Post, &path, &[], Some(body)).await?;
    if is_index_missing(&resp) {
        return Ok(vec![None; ids.len()]);
    }
    if !resp.is_success() {
        return Err(resp.to_error(Method::Post, &path).into());
    }
    let answer: Value = resp.json(Method::Post, &path)?;
    let docs = answer["docs"].as_array().cloned().unwrap_or_default();
    if docs.len() != ids.len() {
        return Err(protocol(
            Method::Post,
            &path,
            format!("{} documents answered for {} ids", docs.len(), ids.len()),
        ));
    }
    let mut out = Vec::with_capacity(docs.len());
    for mut doc in docs {
        if doc["found"] == Value::Bool(true) {
            let seq = seq_of(&doc).ok_or_else(|| {
                protocol(
                    Method::Post,
                    &path,
                    "a found document carries no `_seq_no`".into(),
                )
            })?;
            out.push(Some((doc["_source"].take(), seq)));
        } else {
            out.push(None);
        }
    }
    Ok(out)
}

/// One operation's answer in a `_bulk` response.
#[derive(Debug, Clone)]
pub(crate) struct BulkItem {
    pub status: u16,
    pub error_type: String,
    pub reason: String,
}

impl BulkItem {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends one NDJSON `_bulk` body of `ops` operations and returns their answers in order.
pub(crate) async fn bulk(
    client: &EsClient,
    policy: RequestPolicy,
    body: Vec<u8>,
    ops: usize,
) -> StateResult<Vec<BulkItem>> {
    let path = "/_bulk";
    let resp = send(
        client,
        policy,
        Method::Post,
        path,
        &[],
        Some((Bytes::from(body), "application/x-ndjson")),
    )
    .await?;
    if !resp.is_success() {
        return Err(resp.to_error(Method::Post, path).into());
    }
    let answer: Value = resp.json(Method::Post, path)?;
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    if items.len() != ops {
        return Err(protocol(
            Method::Post,
            path,
            format!("{} items answered for {ops} operations", items.len()),
        ));
    }
    Ok(items
        .iter()
        .map(|wrap| {
            let item = wrap
                .as_object()
                .and_then(|m| m.values().next())
                .cloned()
                .unwrap_or(Value::Null);
            let status = item["status"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0);
            BulkItem {
                status,
                error_type: item["error"]["type"].as_str().unwrap_or("").to_string(),
                reason: match &item["error"] {
                    Value::Object(e) => e
                        .get("reason")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    Value::String(s) => s.clone(),
                    _ => String::new(),
                },
            }
        })
        .collect())
}

/// Appends one bulk operation (`index` or `create`) with its condition and source to `buf`.
pub(crate) fn bulk_write_op(
    buf: &mut Vec<u8>,
    index: &str,
    id: &str,
    cond: WriteCond,
    source: &Value,
) -> StateResult<()> {
    let meta = match cond {
        WriteCond::Create => json!({"create": {"_index": index, "_id": id}}),
        WriteCond::IfMatch(s) => json!({"index": {
            "_index": index, "_id": id,
            "if_seq_no": s.seq_no, "if_primary_term": s.primary_term,
        }}),
    };
    let fail = |e: serde_json::Error| {
        protocol(
            Method::Post,
            "/_bulk",
            format!("cannot serialise a bulk line: {e}"),
        )
    };
    serde_json::to_writer(&mut *buf, &meta).map_err(fail)?;
    buf.push(b'\n');
    serde_json::to_writer(&mut *buf, source).map_err(fail)?;
    buf.push(b'\n');
    Ok(())
}

/// One hit of a search, with its concurrency token and sort values.
#[derive(Debug, Clone)]
pub(crate) struct SearchHit {
    pub id: String,
    pub seq: Option<SeqNo>,
    pub source: Value,
    pub sort: Value,
}

/// Runs a search that returns sources and sequence numbers; a missing index gives no hits.
pub(crate) async fn search(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
    mut body: Value,
) -> StateResult<Vec<SearchHit>> {
    let path = format!("/{}/_search", encode(index));
    body["seq_no_primary_term"] = Value::Bool(true);
    body["track_total_hits"] = Value::Bool(false);
    let req = json_body(Method::Post, &path, &body)?;
    let resp = send(client, policy, Method::Post, &path, &[], Some(req)).await?;
    if is_index_missing(&resp) {
        return Ok(Vec::new());
    }
    if !resp.is_success() {
        return Err(resp.to_error(Method::Post, &path).into());
    }
    let mut answer: Value = resp.json(Method::Post, &path)?;
    let hits = answer["hits"]["hits"].take();
    let hits = match hits {
        Value::Array(h) => h,
        _ => Vec::new(),
    };
    Ok(hits
        .into_iter()
        .map(|mut h| SearchHit {
            id: h["_id"].as_str().unwrap_or_default().to_string(),
            seq: seq_of(&h),
            source: h["_source"].take(),
            sort: h["sort"].take(),
        })
        .collect())
}

/// `_count` of the documents matching `query`; a missing index counts zero.
pub(crate) async fn count(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
    query: Value,
) -> StateResult<u64> {
    let path = format!("/{}/_count", encode(index));
    let req = json_body(Method::Post, &path, &json!({ "query": query }))?;
    let resp = send(client, policy, Method::Post, &path, &[], Some(req)).await?;
    if is_index_missing(&resp) {
        return Ok(0);
    }
    if !resp.is_success() {
        return Err(resp.to_error(Method::Post, &path).into());
    }
    let answer: Value = resp.json(Method::Post, &path)?;
    answer["count"]
        .as_u64()
        .ok_or_else(|| protocol(Method::Post, &path, format!("no `count` in {answer}")))
}

/// Deletes the documents matching `query` (`_delete_by_query`, no script involved) and returns
/// how many went; a missing index deletes nothing. Documents changed during the run are skipped
/// (`conflicts=proceed`), which is what a retention sweep wants.
pub(crate) async fn delete_by_query(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
    query: Value,
) -> StateResult<u64> {
    let path = format!("/{}/_delete_by_query", encode(index));
    let req = json_body(Method::Post, &path, &json!({ "query": query }))?;
    let params = [("conflicts", "proceed")];
    let resp = send(client, policy, Method::Post, &path, &params, Some(req)).await?;
    if is_index_missing(&resp) {
        return Ok(0);
    }
    if !resp.is_success() {
        return Err(resp.to_error(Method::Post, &path).into());
    }
    let answer: Value = resp.json(Method::Post, &path)?;
    answer["deleted"]
        .as_u64()
        .ok_or_else(|| protocol(Method::Post, &path, format!("no `deleted` in {answer}")))
}

/// Makes recent writes visible to searches; a missing index is not an error.
pub(crate) async fn refresh(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
) -> StateResult<()> {
    let path = format!("/{}/_refresh", encode(index));
    let resp = send(client, policy, Method::Post, &path, &[], None).await?;
    if resp.is_success() || is_index_missing(&resp) {
        Ok(())
    } else {
        Err(resp.to_error(Method::Post, &path).into())
    }
}

/// Creates `index` with `settings` and `mappings` if it does not exist; if it exists, adds the
/// mapping's fields (an additive mapping update, so an index created by an older mee learns the
/// fields a newer one searches on). Several processes may race here: "already exists" is success.
pub(crate) async fn ensure_index(
    client: &EsClient,
    policy: RequestPolicy,
    index: &str,
    settings: &Value,
    mappings: &Value,
) -> StateResult<()> {
    let path = format!("/{}", encode(index));
    let head = send(client, policy, Method::Head, &path, &[], None).await?;
    if head.status == 404 {
        let body = json!({"settings": settings, "mappings": mappings});
        let req = json_body(Method::Put, &path, &body)?;
        let resp = send(client, policy, Method::Put, &path, &[], Some(req)).await?;
        if resp.is_success() {
            tracing::info!(index, "created the index");
            return Ok(());
        }
        let text = String::from_utf8_lossy(&resp.body);
        if resp.status == 400 && text.contains("resource_already_exists_exception") {
            return Ok(());
        }
        return Err(resp.to_error(Method::Put, &path).into());
    }
    if !head.is_success() {
        return Err(head.to_error(Method::Head, &path).into());
    }
    let mapping_path = format!("{path}/_mapping");
    let req = json_body(Method::Put, &mapping_path, mappings)?;
    let resp = send(client, policy, Method::Put, &mapping_path, &[], Some(req)).await?;
    if !resp.is_success() {
        // The index works without the new fields being indexed (they stay in `_source`), so a
        // refused mapping update is worth a warning, not a stop.
        let error = resp.to_error(Method::Put, &mapping_path);
        tracing::warn!(index, %error, "could not add the current fields to the index mapping");
    }
    Ok(())
}

/// Checks a configured index name against Elasticsearch's rules and refuses names that are
/// hidden or reserved: a leading `.` marks system indices on recent Elasticsearch (a warning
/// today, an error in future versions), and `_`, `-`, `+` are refused by the server.
pub(crate) fn validate_index_name(name: &str, purpose: &'static str) -> StateResult<()> {
    let bad = |reason: &str| {
        Err(StateError::InvalidIndexName {
            name: name.to_string(),
            purpose,
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.len() > 255 {
        return bad("the name is longer than 255 bytes");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not index names");
    }
    if name.starts_with('.') {
        return bad(
            "names starting with `.` are reserved for hidden and system indices; choose a name \
             without the dot, e.g. `mee-state`",
        );
    }
    if name.starts_with(['_', '-', '+']) {
        return bad("a name may not start with `_`, `-` or `+`");
    }
    if name.chars().any(|c| c.is_uppercase()) {
        return bad("index names must be lowercase");
    }
    if let Some(c) = name.chars().find(|c| {
        matches!(
            c,
            '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ',' | '#' | ':'
        )
    }) {
        return Err(StateError::InvalidIndexName {
            name: name.to_string(),
            purpose,
            reason: format!("the character `{c}` is not allowed in index names"),
        });
    }
    Ok(())
}

/// Version of the stored formats; written into every document as `format`.
pub(crate) const FORMAT: u64 = 1;

/// Adds the envelope fields (`doc_kind`, `doc_id`, `format`) to a serialised document.
pub(crate) fn add_envelope(mut source: Value, kind: &str, id: &str) -> Value {
    if let Value::Object(map) = &mut source {
        map.insert("doc_kind".into(), Value::String(kind.into()));
        map.insert("doc_id".into(), Value::String(id.into()));
        map.insert("format".into(), Value::from(FORMAT));
    }
    source
}

/// Checks and removes the envelope fields, leaving what the document type deserialises.
pub(crate) fn strip_envelope(
    mut source: Value,
    kind: Option<&str>,
    index: &str,
    id: &str,
) -> StateResult<Value> {
    let corrupt = |reason: String| StateError::Corrupt {
        index: index.to_string(),
        id: id.to_string(),
        reason,
    };
    let map = source
        .as_object_mut()
        .ok_or_else(|| corrupt("the source is not a JSON object".into()))?;
    let stored_kind = map.remove("doc_kind");
    map.remove("doc_id");
    let format = map.remove("format");
    if let (Some(expected), Some(Value::String(found))) = (kind, &stored_kind)
        && found != expected
    {
        return Err(corrupt(format!(
            "it is a `{found}` document, not a `{expected}` one"
        )));
    }
    if let Some(f) = format.as_ref().and_then(Value::as_u64)
        && f > FORMAT
    {
        return Err(corrupt(format!(
            "it was written in format {f} by a newer mee; this version reads format {FORMAT}"
        )));
    }
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_follow_the_server_rules() {
        for ok in ["mee-state", "mee-retry", "t_abc_state", "a.b", "x"] {
            assert!(validate_index_name(ok, "state index").is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".mee-state",
            "_x",
            "-x",
            "+x",
            "Mee",
            "a b",
            "a/b",
            "a*",
            "a:b",
            "a,b",
            ".",
            "..",
        ] {
            assert!(validate_index_name(bad, "state index").is_err(), "{bad:?}");
        }
        let long = "a".repeat(256);
        assert!(validate_index_name(&long, "state index").is_err());
        let text = validate_index_name(".mee", "state index")
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("reserved") && text.contains("state index"),
            "{text}"
        );
    }

    #[test]
    fn envelope_is_added_checked_and_removed() {
        let wrapped = add_envelope(json!({"a": 1}), "pipeline", "pipeline/p/a");
        assert_eq!(
            wrapped,
            json!({"a": 1, "doc_kind": "pipeline", "doc_id": "pipeline/p/a", "format": 1})
        );
        assert_eq!(
            strip_envelope(wrapped.clone(), Some("pipeline"), "i", "d").unwrap(),
            json!({"a": 1})
        );
        assert!(matches!(
            strip_envelope(wrapped, Some("checkpoint"), "i", "d"),
            Err(StateError::Corrupt { .. })
        ));
        let newer = json!({"a": 1, "format": 2});
        assert!(strip_envelope(newer, None, "i", "d").is_err());
        assert!(strip_envelope(json!([1]), None, "i", "d").is_err());
    }

    #[test]
    fn bulk_lines_carry_the_condition() {
        let mut buf = Vec::new();
        let seq = SeqNo {
            seq_no: 7,
            primary_term: 2,
        };
        bulk_write_op(
            &mut buf,
            "r",
            "x/1",
            WriteCond::IfMatch(seq),
            &json!({"a": 1}),
        )
        .unwrap();
        bulk_write_op(&mut buf, "r", "y", WriteCond::Create, &json!({"b": "\n"})).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            r#"{"index":{"_index":"r","_id":"x/1","if_seq_no":7,"if_primary_term":2}}"#
        );
        assert_eq!(lines[2], r#"{"create":{"_index":"r","_id":"y"}}"#);
        assert_eq!(lines[3], r#"{"b":"\n"}"#);
    }

    #[test]
    fn ids_are_encoded_as_one_path_segment() {
        assert_eq!(
            doc_path("mee-state", "pipeline/orders/a b"),
            "/mee-state/_doc/pipeline%2Forders%2Fa%20b"
        );
    }
}

/// One of mee's own indices (state, retry table): the client, the validated name, the request
/// policy, and whether the index is known to exist (created once, on first write).
#[derive(Clone)]
pub(crate) struct SystemIndex {
    pub(crate) client: EsClient,
    pub(crate) index: std::sync::Arc<str>,
    pub(crate) policy: RequestPolicy,
    ready: std::sync::Arc<tokio::sync::OnceCell<()>>,
}

impl SystemIndex {
    pub(crate) fn new(client: EsClient, name: &str, purpose: &'static str) -> StateResult<Self> {
        validate_index_name(name, purpose)?;
        Ok(SystemIndex {
            client,
            index: std::sync::Arc::from(name),
            policy: RequestPolicy::default(),
            ready: std::sync::Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    /// Creates the index with its settings and mappings unless this handle already did.
    pub(crate) async fn ensure(
        &self,
        settings: fn() -> Value,
        mappings: fn() -> Value,
    ) -> StateResult<()> {
        self.ready
            .get_or_try_init(|| async {
                ensure_index(
                    &self.client,
                    self.policy,
                    &self.index,
                    &settings(),
                    &mappings(),
                )
                .await
            })
            .await?;
        Ok(())
    }
}
