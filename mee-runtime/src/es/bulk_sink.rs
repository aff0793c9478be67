//! A minimal in-process HTTP/1.1 server that accepts `_bulk` and answers every item with success.
//!
//! Benchmarks measure mee's pipeline against it: it stands for "an Elasticsearch that ingests
//! infinitely fast", so it must cost little CPU. It scans bulk bodies for newlines and looks only at
//! action lines (never parses document sources). It also answers the handful of index-management
//! requests a full update makes (create index, settings, aliases, refresh, count, `_cat/indices`)
//! with plausible minimal JSON, so that a whole `mee update` can run against it.
//!
//! For tests of the writer's retry paths it can answer the first requests with 503 and every n-th
//! item with a per-item 429.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// Fault injection for tests; the default injects nothing.
#[derive(Debug, Clone, Default)]
pub struct SinkConfig {
    /// Answer this many `_bulk` requests with HTTP 503 before accepting any.
    pub fail_first_bulk_requests: u32,
    /// When non-zero, every n-th item (counted over the sink's life) is answered with a per-item 429.
    pub item_429_every: u64,
}

/// What the sink has received so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Every HTTP request, of any kind.
    pub requests: u64,
    /// `_bulk` requests answered 200.
    pub bulk_requests: u64,
    /// Operations answered with success (index/create/update and delete).
    pub ops: u64,
    pub index_ops: u64,
    pub delete_ops: u64,
    /// Items answered 429 by fault injection.
    pub rejected_items: u64,
    /// `_bulk` body bytes received, including rejected requests.
    pub bytes: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    bulk_requests: AtomicU64,
    index_ops: AtomicU64,
    delete_ops: AtomicU64,
    rejected_items: AtomicU64,
    bytes: AtomicU64,
    items_seen: AtomicU64,
}

/// Index names, alias targets and per-index document estimates (index ops minus deletes), so that
/// the management answers are consistent with what was written.
#[derive(Default)]
struct Catalog {
    indices: BTreeMap<String, i64>,
    aliases: BTreeMap<String, BTreeSet<String>>,
}

struct State {
    config: SinkConfig,
    fail_left: AtomicU32,
    counters: Counters,
    catalog: Mutex<Catalog>,
}

/// A running sink. Dropping it stops the server.
pub struct BulkSink {
    url: String,
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    thread_id: Option<u32>,
}

impl std::fmt::Debug for BulkSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkSink").field("url", &self.url).finish()
    }
}

impl BulkSink {
    /// Starts a sink on `127.0.0.1:0` in the current tokio runtime.
    pub async fn start() -> io::Result<Self> {
        Self::start_with(SinkConfig::default()).await
    }

    pub async fn start_with(config: SinkConfig) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = new_state(config);
        let (tx, rx) = oneshot::channel();
        tokio::spawn(accept_loop(listener, state.clone(), rx));
        Ok(BulkSink {
            url: format!("http://{addr}"),
            addr,
            state,
            shutdown: Some(tx),
            thread: None,
            thread_id: None,
        })
    }

    /// Starts a sink on its own OS thread with a single-threaded runtime, so that a benchmark can
    /// subtract the sink's CPU time ([`BulkSink::cpu_time`]) from the process's.
    pub fn start_on_thread(config: SinkConfig) -> io::Result<Self> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let state = new_state(config);
        let (tx, rx) = oneshot::channel();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("bulk-sink".into())
            .spawn(move || {
                let _ = tid_tx.send(crate::bench_support::current_thread_id());
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "bulk sink: cannot start its runtime");
                        return;
                    }
                };
                runtime.block_on(async move {
                    match TcpListener::from_std(std_listener) {
                        Ok(listener) => accept_loop(listener, thread_state, rx).await,
                        Err(e) => {
                            tracing::error!(error = %e, "bulk sink: cannot register its listener")
                        }
                    }
                });
            })?;
        let thread_id = tid_rx.recv_timeout(Duration::from_secs(5)).ok().flatten();
        Ok(BulkSink {
            url: format!("http://{addr}"),
            addr,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
            thread_id,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> SinkStats {
        let c = &self.state.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let index_ops = get(&c.index_ops);
        let delete_ops = get(&c.delete_ops);
        SinkStats {
            requests: get(&c.requests),
            bulk_requests: get(&c.bulk_requests),
            ops: index_ops + delete_ops,
            index_ops,
            delete_ops,
            rejected_items: get(&c.rejected_items),
            bytes: get(&c.bytes),
        }
    }

    /// CPU time of the sink's thread, for a sink started with [`BulkSink::start_on_thread`].
    pub fn cpu_time(&self) -> Option<Duration> {
        crate::bench_support::thread_cpu_time(self.thread_id?)
    }
}

impl Drop for BulkSink {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn new_state(config: SinkConfig) -> Arc<State> {
    Arc::new(State {
        fail_left: AtomicU32::new(config.fail_first_bulk_requests),
        config,
        counters: Counters::default(),
        catalog: Mutex::new(Catalog::default()),
    })
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: oneshot::Receiver<()>,
) {
    // Connection tasks live in this set so that stopping the loop also closes every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, state.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "bulk sink: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// A parsed request head.
struct Head {
    method: String,
    target: String,
    content_length: usize,
    close: bool,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(head: &[u8]) -> Result<Head, String> {
    let text = std::str::from_utf8(head).map_err(|_| "request head is not UTF-8".to_string())?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("bad request line `{request_line}`"));
    };
    let mut head = Head {
        method: method.to_string(),
        target: target.to_string(),
        content_length: 0,
        close: version == "HTTP/1.0",
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value
                .parse()
                .map_err(|_| format!("bad content-length `{value}`"))?;
        } else if name.eq_ignore_ascii_case("connection") {
            head.close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && !value.eq_ignore_ascii_case("identity")
        {
            return Err("chunked request bodies are not supported by the bulk sink".into());
        }
    }
    Ok(head)
}

async fn serve_connection(mut stream: TcpStream, state: Arc<State>) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        // Read until the head is complete.
        let head_end = loop {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                break pos;
            }
            if buf.len() > 64 * 1024 {
                return;
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = match parse_head(&buf[..head_end]) {
            Ok(h) => h,
            Err(reason) => {
                out.clear();
                write_response(&mut out, 400, &error_json(&reason), true);
                let _ = stream.write_all(&out).await;
                return;
            }
        };
        let body_start = head_end + 4;
        let body_end = body_start + head.content_length;
        if buf.len() < body_end {
            buf.reserve(body_end - buf.len());
            while buf.len() < body_end {
                match stream.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        }
        state.counters.requests.fetch_add(1, Ordering::Relaxed);
        out.clear();
        handle(&state, &head, &buf[body_start..body_end], &mut out);
        if stream.write_all(&out).await.is_err() || head.close {
            return;
        }
        // Keep whatever followed this request (pipelining) at the front of the buffer.
        buf.drain(..body_end);
    }
}

fn write_response(out: &mut Vec<u8>, status: u16, body: &[u8], close: bool) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Unknown",
    };
    let connection = if close { "close" } else { "keep-alive" };
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: {connection}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
}

fn error_json(reason: &str) -> Vec<u8> {
    json!({"error": {"type": "bulk_sink_unsupported", "reason": reason}, "status": 400})
        .to_string()
        .into_bytes()
}

fn handle(state: &State, head: &Head, body: &[u8], out: &mut Vec<u8>) {
    let (path, _query) = head.target.split_once('?').unwrap_or((&head.target, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = head.method.as_str();
    let ack = || json!({"acknowledged": true});
    let reply = |out: &mut Vec<u8>, status: u16, v: Value| {
        write_response(out, status, v.to_string().as_bytes(), head.close)
    };
    match (method, segments.as_slice()) {
        ("POST" | "PUT", ["_bulk"]) | ("POST" | "PUT", [_, "_bulk"]) => {
            handle_bulk(state, body, out, head.close)
        }
        ("GET" | "HEAD", []) => reply(
            out,
            200,
            json!({"name": "bulk-sink", "cluster_name": "bulk-sink", "version": {"number": "8.0.0", "distribution": "bulk-sink"}, "tagline": "You Know, for Search"}),
        ),
        ("PUT", [index]) if !index.starts_with('_') => {
            lock(&state.catalog)
                .indices
                .entry(index.to_string())
                .or_insert(0);
            reply(
                out,
                200,
                json!({"acknowledged": true, "shards_acknowledged": true, "index": index}),
            )
        }
        ("HEAD", [index]) if !index.starts_with('_') => {
            let exists = lock(&state.catalog).indices.contains_key(*index);
            write_response(out, if exists { 200 } else { 404 }, b"", head.close)
        }
        ("DELETE", [names]) if !names.starts_with('_') => {
            let mut catalog = lock(&state.catalog);
            for name in names.split(',') {
                catalog.indices.remove(name);
                for targets in catalog.aliases.values_mut() {
                    targets.remove(name);
                }
            }
            catalog.aliases.retain(|_, t| !t.is_empty());
            reply(out, 200, ack())
        }
        ("PUT", [_, "_settings"]) => reply(out, 200, ack()),
        ("GET", [index, "_settings"]) => reply(
            out,
            200,
            json!({*index: {"settings": {"index": {"number_of_replicas": "1", "refresh_interval": "1s", "number_of_shards": "1"}}}}),
        ),
        ("POST" | "GET", ["_refresh"]) | ("POST" | "GET", [_, "_refresh"]) => reply(
            out,
            200,
            json!({"_shards": {"total": 1, "successful": 1, "failed": 0}}),
        ),
        ("POST", ["_aliases"]) => match apply_aliases(state, body) {
            Ok(()) => reply(out, 200, ack()),
            Err(reason) => write_response(out, 400, &error_json(&reason), head.close),
        },
        ("GET", ["_alias", alias]) => {
            let catalog = lock(&state.catalog);
            match catalog.aliases.get(*alias) {
                Some(targets) => {
                    let mut answer = serde_json::Map::new();
                    for t in targets {
                        answer.insert(t.clone(), json!({"aliases": {*alias: {}}}));
                    }
                    reply(out, 200, Value::Object(answer))
                }
                None => reply(
                    out,
                    404,
                    json!({"error": format!("alias [{alias}] missing"), "status": 404}),
                ),
            }
        }
        ("GET" | "POST", [index, "_count"]) => {
            let catalog = lock(&state.catalog);
            let count: i64 = catalog
                .indices
                .iter()
                .filter(|(name, _)| {
                    **name == *index
                        || catalog
                            .aliases
                            .get(*index)
                            .is_some_and(|t| t.contains(*name))
                })
                .map(|(_, n)| (*n).max(0))
                .sum();
            reply(
                out,
                200,
                json!({"count": count, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}),
            )
        }
        ("GET", ["_cat", "indices"]) | ("GET", ["_cat", "indices", _]) => {
            let pattern = segments.get(2).copied().unwrap_or("*");
            let catalog = lock(&state.catalog);
            let rows: Vec<Value> = catalog
                .indices
                .iter()
                .filter(|(name, _)| pattern.split(',').any(|p| glob_match(p, name)))
                .map(|(name, n)| {
                    json!({"health": "green", "status": "open", "index": name, "pri": "1", "rep": "0", "docs.count": (*n).max(0).to_string()})
                })
                .collect();
            reply(out, 200, Value::Array(rows))
        }
        _ => write_response(
            out,
            400,
            &error_json(&format!(
                "{method} {path} is not supported by the bulk sink"
            )),
            head.close,
        ),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, rest)) => {
            let Some(tail) = name.strip_prefix(prefix) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob_match(rest, &tail[i..]))
        }
    }
}

fn apply_aliases(state: &State, body: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("bad _aliases body: {e}"))?;
    let actions = v["actions"]
        .as_array()
        .ok_or("`actions` must be an array")?;
    let mut catalog = lock(&state.catalog);
    // Validate first so that a failing request changes nothing, as `_aliases` is atomic.
    for action in actions {
        if let Some(add) = action.get("add") {
            let index = add["index"].as_str().unwrap_or_default();
            if !catalog.indices.contains_key(index) {
                return Err(format!("no such index [{index}]"));
            }
        }
    }
    for action in actions {
        if let Some(remove) = action.get("remove") {
            let alias = remove["alias"].as_str().unwrap_or_default();
            let index = remove["index"].as_str().unwrap_or("*");
            if let Some(targets) = catalog.aliases.get_mut(alias) {
                targets.retain(|t| !glob_match(index, t));
            }
        }
        if let Some(add) = action.get("add") {
            let alias = add["alias"].as_str().unwrap_or_default().to_string();
            let index = add["index"].as_str().unwrap_or_default().to_string();
            catalog.aliases.entry(alias).or_default().insert(index);
        }
    }
    catalog.aliases.retain(|_, t| !t.is_empty());
    Ok(())
}

/// Position of the first `\n` in `hay`, eight bytes at a time: sources are ~1 KB and the sink
/// must stay cheaper than the writer it measures.
fn find_newline(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NEWLINES;
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            return chunk.iter().position(|&b| b == b'\n').map(|p| offset + p);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| offset + p)
}

/// The raw JSON string token (quotes included) following `key` in an action line.
fn string_field<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = find(line, key)? + key.len();
    let rest = &line[at..];
    let start = rest.iter().position(|&b| b == b'"')?;
    let mut i = start + 1;
    while i < rest.len() {
        match rest[i] {
            b'\\' => i += 2,
            b'"' => return Some(&rest[start..=i]),
            _ => i += 1,
        }
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Index,
    Create,
    Update,
    Delete,
}

impl Kind {
    fn of(action_line: &[u8]) -> Option<Kind> {
        let open = action_line.iter().position(|&b| b == b'"')?;
        let rest = &action_line[open + 1..];
        if rest.starts_with(b"index\"") {
            Some(Kind::Index)
        } else if rest.starts_with(b"delete\"") {
            Some(Kind::Delete)
        } else if rest.starts_with(b"create\"") {
            Some(Kind::Create)
        } else if rest.starts_with(b"update\"") {
            Some(Kind::Update)
        } else {
            None
        }
    }

    fn name(self) -> &'static [u8] {
        match self {
            Kind::Index => b"index",
            Kind::Create => b"create",
            Kind::Update => b"update",
            Kind::Delete => b"delete",
        }
    }
}

fn handle_bulk(state: &State, body: &[u8], out: &mut Vec<u8>, close: bool) {
    let counters = &state.counters;
    counters
        .bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    if state
        .fail_left
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        let body = json!({"error": {"type": "unavailable_shards_exception", "reason": "injected by the bulk sink"}, "status": 503});
        write_response(out, 503, body.to_string().as_bytes(), close);
        return;
    }
    let mut items: Vec<u8> = Vec::with_capacity(body.len() / 8 + 64);
    let mut errors = false;
    let (mut index_ops, mut delete_ops, mut rejected) = (0u64, 0u64, 0u64);
    // Per-index net document changes of this request; a load writes one or two indices, so a
    // short list beats a map.
    let mut per_index: Vec<(&[u8], i64)> = Vec::new();
    let mut rest = body;
    let mut first = true;
    while !rest.is_empty() {
        let end = find_newline(rest).unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let Some(kind) = Kind::of(line) else {
            let reason = format!(
                "malformed action line: {}",
                String::from_utf8_lossy(&line[..line.len().min(200)])
            );
            out.clear();
            write_response(out, 400, &error_json(&reason), close);
            return;
        };
        if kind != Kind::Delete {
            // Skip the source line without looking into it.
            let end = find_newline(rest).unwrap_or(rest.len());
            rest = rest.get(end + 1..).unwrap_or_default();
        }
        let index = string_field(line, b"\"_index\"").unwrap_or(b"\"\"");
        let id = string_field(line, b"\"_id\"");
        if !first {
            items.push(b',');
        }
        first = false;
        items.extend_from_slice(b"{\"");
        items.extend_from_slice(kind.name());
        items.extend_from_slice(b"\":{\"_index\":");
        items.extend_from_slice(index);
        if let Some(id) = id {
            items.extend_from_slice(b",\"_id\":");
            items.extend_from_slice(id);
        }
        let seen = counters.items_seen.fetch_add(1, Ordering::Relaxed) + 1;
        let every = state.config.item_429_every;
        if every > 0 && seen.is_multiple_of(every) {
            errors = true;
            rejected += 1;
            items.extend_from_slice(
                b",\"status\":429,\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"injected by the bulk sink\"}}}",
            );
            continue;
        }
        let delta = if kind == Kind::Delete {
            delete_ops += 1;
            items.extend_from_slice(b",\"_version\":1,\"result\":\"deleted\",\"status\":200}}");
            -1
        } else {
            index_ops += 1;
            items.extend_from_slice(b",\"_version\":1,\"result\":\"created\",\"status\":201}}");
            if kind == Kind::Update { 0 } else { 1 }
        };
        match per_index.iter_mut().find(|(name, _)| *name == index) {
            Some((_, n)) => *n += delta,
            None => per_index.push((index, delta)),
        }
    }
    counters.bulk_requests.fetch_add(1, Ordering::Relaxed);
    counters.index_ops.fetch_add(index_ops, Ordering::Relaxed);
    counters.delete_ops.fetch_add(delete_ops, Ordering::Relaxed);
    counters
        .rejected_items
        .fetch_add(rejected, Ordering::Relaxed);
    {
        let mut catalog = lock(&state.catalog);
        for (raw, delta) in per_index {
            let name: String = serde_json::from_slice(raw).unwrap_or_default();
            *catalog.indices.entry(name).or_insert(0) += delta;
        }
    }
    let mut answer = Vec::with_capacity(items.len() + 40);
    answer.extend_from_slice(b"{\"took\":0,\"errors\":");
    answer.extend_from_slice(if errors { b"true" } else { b"false" });
    answer.extend_from_slice(b",\"items\":[");
    answer.extend_from_slice(&items);
    answer.extend_from_slice(b"]}");
    write_response(out, 200, &answer, close);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_scan_matches_the_naive_one() {
        let text = b"0123456789abcdef\nxyz\n0123456\n\n";
        let mut rest: &[u8] = text;
        while !rest.is_empty() {
            assert_eq!(find_newline(rest), rest.iter().position(|&b| b == b'\n'));
            rest = &rest[1..];
        }
        assert_eq!(find_newline(b"no newline at all here"), None);
    }

    #[test]
    fn string_fields_keep_escapes() {
        let line = br#"{"index":{"_index":"i","_id":"a\"b","routing":"r"}}"#;
        assert_eq!(string_field(line, b"\"_id\""), Some(&br#""a\"b""#[..]));
        assert_eq!(string_field(line, b"\"_index\""), Some(&br#""i""#[..]));
        assert_eq!(string_field(line, b"\"nope\""), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match("t_*", "t_abc"));
        assert!(glob_match("*_1", "t_abc_1"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("t_*_2", "t_abc_1"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn bulk_answer_lists_every_item() {
        let state = new_state(SinkConfig::default());
        let body = b"{\"index\":{\"_index\":\"i\",\"_id\":\"1\"}}\n{\"a\":1}\n{\"delete\":{\"_index\":\"i\",\"_id\":\"2\"}}\n{\"create\":{\"_index\":\"j\",\"_id\":\"3\"}}\n{}\n";
        let mut out = Vec::new();
        handle_bulk(&state, body, &mut out, false);
        let text = String::from_utf8(out).expect("utf8");
        let json_start = text.find("\r\n\r\n").expect("head") + 4;
        let v: Value = serde_json::from_str(&text[json_start..]).expect("json answer");
        assert_eq!(v["errors"], false);
        assert_eq!(v["items"].as_array().map(Vec::len), Some(3));
        assert_eq!(v["items"][1]["delete"]["_id"], "2");
        assert_eq!(v["items"][2]["create"]["_index"], "j");
        let c = &state.counters;
        assert_eq!(c.index_ops.load(Ordering::Relaxed), 2);
        assert_eq!(c.delete_ops.load(Ordering::Relaxed), 1);
        let catalog = lock(&state.catalog);
        assert_eq!(catalog.indices.get("i"), Some(&0));
        assert_eq!(catalog.indices.get("j"), Some(&1));
    }
}
