//! The bulk writer shared by the full update and the incremental sync.
//!
//! Operations are appended to an NDJSON buffer; a full buffer (by operation count or bytes) becomes
//! one `_bulk` request that runs in its own task. At most `concurrency` requests are in flight:
//! the producer waits for a free slot before it can start another buffer, so memory stays bounded
//! by `(concurrency + 1) * max_bytes` whatever the producer's speed.
//!
//! Each submitted batch gets a [`Ticket`] that resolves once every one of its operations has a
//! final answer, which is how the sync knows that a transaction's writes are acknowledged and its
//! checkpoint may move past it. A streaming full update submits page after page and consumes the
//! tickets in a separate task to send rejected documents to the retry table.

use super::bulk_response::{ItemStatus, parse_bulk_response};
use super::client::{EsClient, Method, snippet};
use super::error::EsError;
use super::ndjson::{BulkOp, OpIdentity, op_identity, op_is_delete, write_op};
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinSet;

/// Limits and retry policy of a [`BulkWriter`].
#[derive(Debug, Clone)]
pub struct BulkConfig {
    /// Operations per request.
    pub max_ops: usize,
    /// Bytes per request body. A single operation larger than this is sent alone.
    pub max_bytes: usize,
    /// Requests in flight at once (per writer and its forks together).
    pub concurrency: usize,
    /// Sends of one request in total, first attempt included, before giving up.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled on each further retry up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Default for BulkConfig {
    fn default() -> Self {
        BulkConfig {
            max_ops: 1000,
            max_bytes: 5 * 1024 * 1024,
            concurrency: 3,
            max_attempts: 8,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
        }
    }
}

/// A document that Elasticsearch rejected. It is handed back to the caller (for the retry table),
/// never dropped, and never stops the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkFailure {
    pub op: OpIdentity,
    /// The item's HTTP status (400 for a mapping error, 429 when overload outlasted the retries).
    pub status: u16,
    /// Elasticsearch's error type, e.g. `mapper_parsing_exception`.
    pub error_type: String,
    pub reason: String,
}

impl std::fmt::Display for BulkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.op.index, self.op.id)?;
        if let Some(r) = &self.op.routing {
            write!(f, " (routing {r})")?;
        }
        write!(
            f,
            ": HTTP {} {}: {}",
            self.status, self.error_type, self.reason
        )
    }
}

/// The final result of one submitted batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Written.
    pub ok: u64,
    /// Rejected with a version conflict: the index already has this or a newer version.
    pub conflicts: u64,
    /// Deletes of documents that were not there.
    pub not_found: u64,
    /// Rejected documents.
    pub failures: Vec<BulkFailure>,
}

impl BatchOutcome {
    /// Operations whose intended end state holds: written, already newer, or already deleted.
    pub fn acknowledged(&self) -> u64 {
        self.ok + self.conflicts + self.not_found
    }

    fn merge(&mut self, other: BatchOutcome) {
        self.ok += other.ok;
        self.conflicts += other.conflicts;
        self.not_found += other.not_found;
        self.failures.extend(other.failures);
    }
}

/// Live counters of a writer (shared with its forks). Readable from another task, e.g. for a
/// progress bar, through [`BulkCounters::snapshot`].
#[derive(Debug, Default)]
pub struct BulkCounters {
    submitted: AtomicU64,
    ok: AtomicU64,
    conflicts: AtomicU64,
    not_found: AtomicU64,
    failures: AtomicU64,
    unavailable: AtomicU64,
    bytes: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    in_flight: AtomicU64,
    started: Mutex<Option<Instant>>,
}

/// A snapshot of [`BulkCounters`]; also the summary that [`BulkWriter::flush`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkStats {
    /// Operations handed to the writer.
    pub submitted: u64,
    pub ok: u64,
    pub conflicts: u64,
    pub not_found: u64,
    /// Documents rejected (returned as [`BulkFailure`]s).
    pub failures: u64,
    /// Operations whose request could not be delivered (their tickets resolved with an error).
    pub unavailable: u64,
    /// Request body bytes sent, retries included.
    pub bytes: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests sent again (whole or for the items answered 429).
    pub retries: u64,
    pub in_flight: u64,
    pub elapsed: Duration,
}

impl BulkStats {
    /// Operations that reached their intended end state.
    pub fn acknowledged(&self) -> u64 {
        self.ok + self.conflicts + self.not_found
    }
}

impl BulkCounters {
    pub fn snapshot(&self) -> BulkStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let started = *self.started.lock().unwrap_or_else(|p| p.into_inner());
        BulkStats {
            submitted: get(&self.submitted),
            ok: get(&self.ok),
            conflicts: get(&self.conflicts),
            not_found: get(&self.not_found),
            failures: get(&self.failures),
            unavailable: get(&self.unavailable),
            bytes: get(&self.bytes),
            requests: get(&self.requests),
            retries: get(&self.retries),
            in_flight: get(&self.in_flight),
            elapsed: started.map(|s| s.elapsed()).unwrap_or_default(),
        }
    }

    fn add(a: &AtomicU64, n: u64) {
        a.fetch_add(n, Ordering::Relaxed);
    }
}

/// Resolves to the outcome of one submitted batch once every operation in it has its final answer.
/// Dropping a ticket loses the list of rejected documents: keep it until it resolves.
#[must_use = "a ticket carries the batch's rejected documents; await it"]
#[derive(Debug)]
pub struct Ticket {
    rx: oneshot::Receiver<Result<BatchOutcome, EsError>>,
}

impl Future for Ticket {
    type Output = Result<BatchOutcome, EsError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(EsError::Abandoned)))
    }
}

/// The accumulating result of one ticket, fed by every request that carries some of its ops.
struct TicketState {
    acc: Mutex<TicketAcc>,
}

struct TicketAcc {
    remaining: usize,
    outcome: BatchOutcome,
    error: Option<EsError>,
    tx: Option<oneshot::Sender<Result<BatchOutcome, EsError>>>,
}

impl TicketState {
    fn new(ops: usize) -> (Arc<Self>, Ticket) {
        let (tx, rx) = oneshot::channel();
        let state = Arc::new(TicketState {
            acc: Mutex::new(TicketAcc {
                remaining: ops,
                outcome: BatchOutcome::default(),
                error: None,
                tx: Some(tx),
            }),
        });
        if ops == 0 {
            state.finish_part(0, BatchOutcome::default(), None);
        }
        (state, Ticket { rx })
    }

    /// Records the answers for `ops` of this ticket's operations; resolves the ticket with the last.
    fn finish_part(&self, ops: usize, part: BatchOutcome, error: Option<&EsError>) {
        let mut acc = self.acc.lock().unwrap_or_else(|p| p.into_inner());
        acc.remaining = acc.remaining.saturating_sub(ops);
        acc.outcome.merge(part);
        if acc.error.is_none() {
            acc.error = error.cloned();
        }
        if acc.remaining == 0
            && let Some(tx) = acc.tx.take()
        {
            let result = match acc.error.take() {
                Some(e) => Err(e),
                None => Ok(std::mem::take(&mut acc.outcome)),
            };
            // The receiver may be gone (ticket dropped); there is nobody left to tell then.
            let _ = tx.send(result);
        }
    }
}

/// A run of consecutive operations in one request that belong to the same ticket.
struct Segment {
    ticket: Arc<TicketState>,
    ops: usize,
}

struct Shared {
    client: EsClient,
    config: BulkConfig,
    permits: Arc<Semaphore>,
    counters: Arc<BulkCounters>,
}

/// Writes [`BulkOp`]s through `_bulk` with batching, bounded concurrency and retries.
pub struct BulkWriter {
    shared: Arc<Shared>,
    buf: Vec<u8>,
    /// Start offset of each buffered operation's lines in `buf`.
    op_starts: Vec<usize>,
    segments: Vec<Segment>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for BulkWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkWriter")
            .field("url", &self.shared.client.url())
            .field("buffered_ops", &self.op_starts.len())
            .field("buffered_bytes", &self.buf.len())
            .finish()
    }
}

impl BulkWriter {
    pub fn new(client: EsClient, mut config: BulkConfig) -> Self {
        config.max_ops = config.max_ops.max(1);
        config.max_bytes = config.max_bytes.max(1);
        config.concurrency = config.concurrency.max(1);
        config.max_attempts = config.max_attempts.max(1);
        let counters = Arc::new(BulkCounters::default());
        *counters.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        let shared = Arc::new(Shared {
            client,
            permits: Arc::new(Semaphore::new(config.concurrency)),
            config,
            counters,
        });
        Self::from_shared(shared)
    }

    fn from_shared(shared: Arc<Shared>) -> Self {
        BulkWriter {
            buf: Vec::new(),
            op_starts: Vec::with_capacity(shared.config.max_ops),
            segments: Vec::new(),
            tasks: JoinSet::new(),
            shared,
        }
    }

    /// A second writer with its own buffer that shares this one's client, in-flight limit and
    /// counters: for several producer tasks (the polling mode's consumers) writing at once.
    pub fn fork(&self) -> Self {
        Self::from_shared(self.shared.clone())
    }

    pub fn config(&self) -> &BulkConfig {
        &self.shared.config
    }

    /// The live counters, to read from another task while this writer runs.
    pub fn counters(&self) -> Arc<BulkCounters> {
        self.shared.counters.clone()
    }

    pub fn stats(&self) -> BulkStats {
        self.shared.counters.snapshot()
    }

    /// Buffers `ops` and returns the ticket for them. Waits only when a request must start and all
    /// request slots are busy (back-pressure). Buffered operations are sent when the buffer is full,
    /// or by [`BulkWriter::send_pending`] / [`BulkWriter::flush`].
    pub async fn submit(&mut self, ops: Vec<BulkOp>) -> Ticket {
        let (state, ticket) = TicketState::new(ops.len());
        BulkCounters::add(&self.shared.counters.submitted, ops.len() as u64);
        let max_ops = self.shared.config.max_ops;
        let max_bytes = self.shared.config.max_bytes;
        for op in ops {
            if !self.op_starts.is_empty() && self.buf.len() + op.encoded_len_hint() > max_bytes {
                self.dispatch().await;
            }
            if self.buf.capacity() == 0 {
                // Sized for a typical full request, so that a body is rarely reallocated while it
                // grows; untouched capacity costs address space, not memory.
                self.buf.reserve(max_bytes.min(64 << 20) + 64 * 1024);
            }
            self.op_starts.push(self.buf.len());
            write_op(&mut self.buf, &op);
            match self.segments.last_mut() {
                Some(seg) if Arc::ptr_eq(&seg.ticket, &state) => seg.ops += 1,
                _ => self.segments.push(Segment {
                    ticket: state.clone(),
                    ops: 1,
                }),
            }
            if self.op_starts.len() >= max_ops || self.buf.len() >= max_bytes {
                self.dispatch().await;
            }
        }
        ticket
    }

    /// Starts a request for whatever is buffered, without waiting for its answer (only for a free
    /// request slot). The incremental sync calls this after each batch of transactions so that a
    /// half-full buffer does not wait for more changes.
    pub async fn send_pending(&mut self) {
        self.dispatch().await;
    }

    /// Submits `ops`, sends them at once and waits for their outcome.
    pub async fn write_batch(&mut self, ops: Vec<BulkOp>) -> Result<BatchOutcome, EsError> {
        let ticket = self.submit(ops).await;
        self.send_pending().await;
        ticket.await
    }

    /// Sends what is buffered and waits for every request of this writer to finish. Returns the
    /// counters (shared with forks). Tickets carry the per-batch details.
    pub async fn flush(&mut self) -> BulkStats {
        self.dispatch().await;
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "a bulk request task died; its tickets resolve as abandoned");
            }
        }
        self.stats()
    }

    async fn dispatch(&mut self) {
        if self.op_starts.is_empty() {
            return;
        }
        let permit: OwnedSemaphorePermit = match self.shared.permits.clone().acquire_owned().await {
            Ok(p) => p,
            // The semaphore is owned by `Shared` and never closed.
            Err(_) => unreachable!("the bulk writer's semaphore is never closed"),
        };
        // Reap finished tasks so that a long load does not accumulate their handles.
        while let Some(joined) = self.tasks.try_join_next() {
            if let Err(e) = joined {
                tracing::error!(error = %e, "a bulk request task died; its tickets resolve as abandoned");
            }
        }
        let body = Bytes::from(std::mem::take(&mut self.buf));
        let starts = std::mem::replace(
            &mut self.op_starts,
            Vec::with_capacity(self.shared.config.max_ops),
        );
        let segments = std::mem::take(&mut self.segments);
        let shared = self.shared.clone();
        BulkCounters::add(&shared.counters.in_flight, 1);
        self.tasks.spawn(async move {
            let request = Request {
                body,
                starts,
                segments,
            };
            request.run(&shared).await;
            shared.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

impl Drop for BulkWriter {
    fn drop(&mut self) {
        // Requests already started keep running so that their tickets still resolve; what is only
        // buffered is dropped, and its tickets resolve as abandoned.
        self.tasks.detach_all();
    }
}

/// One `_bulk` body with the bookkeeping needed to retry parts of it and to answer its tickets.
struct Request {
    body: Bytes,
    starts: Vec<usize>,
    segments: Vec<Segment>,
}

impl Request {
    fn op_bytes(&self, i: usize) -> &[u8] {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.body.len());
        &self.body[self.starts[i]..end]
    }

    fn sub_body(&self, ops: &[usize]) -> Bytes {
        let len = ops.iter().map(|&i| self.op_bytes(i).len()).sum();
        let mut out = Vec::with_capacity(len);
        for &i in ops {
            out.extend_from_slice(self.op_bytes(i));
        }
        Bytes::from(out)
    }

    async fn run(self, shared: &Shared) {
        let config = &shared.config;
        let counters = &shared.counters;
        let n = self.starts.len();
        let mut results: Vec<Option<ItemStatus>> = vec![None; n];
        let mut pending: Vec<usize> = (0..n).collect();
        let mut request_error: Option<EsError> = None;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let body = if pending.len() == n {
                self.body.clone()
            } else {
                self.sub_body(&pending)
            };
            BulkCounters::add(&counters.requests, 1);
            BulkCounters::add(&counters.bytes, body.len() as u64);
            let sent = shared
                .client
                .send(
                    Method::Post,
                    "/_bulk",
                    &[],
                    Some((body, "application/x-ndjson")),
                )
                .await;
            // `Some(reason)` asks for another attempt of `pending`.
            let retry: Option<(String, bool)> = match sent {
                Err(e) if e.is_transient() => Some((e.to_string(), true)),
                Err(e) => {
                    request_error = Some(e);
                    None
                }
                Ok(resp) if resp.status == 429 || resp.status >= 500 => Some((
                    format!("HTTP {}: {}", resp.status, snippet(&resp.body)),
                    true,
                )),
                Ok(resp) if !resp.is_success() => {
                    request_error = Some(resp.to_error(Method::Post, "/_bulk"));
                    None
                }
                Ok(resp) => {
                    let parsed = parse_bulk_response(&resp.body, pending.len(), |k| {
                        op_is_delete(self.op_bytes(pending[k]))
                    });
                    match parsed {
                        Err(reason) => {
                            request_error = Some(EsError::Protocol {
                                method: "POST".into(),
                                path: "/_bulk".into(),
                                reason,
                            });
                            None
                        }
                        Ok(items) => {
                            let mut again = Vec::new();
                            for (k, status) in items.into_iter().enumerate() {
                                if status == ItemStatus::Retry {
                                    again.push(pending[k]);
                                } else {
                                    results[pending[k]] = Some(status);
                                }
                            }
                            pending = again;
                            if pending.is_empty() {
                                None
                            } else {
                                Some((format!("{} items answered 429", pending.len()), false))
                            }
                        }
                    }
                }
            };
            let Some((reason, whole_request)) = retry else {
                break;
            };
            if attempt >= config.max_attempts {
                if whole_request {
                    request_error = Some(EsError::BulkUnavailable {
                        attempts: attempt,
                        last_error: reason,
                    });
                } else {
                    // The server kept refusing these items for overload; they become rejected
                    // documents (retry table) rather than blocking the batch for ever.
                    for &i in &pending {
                        results[i] = Some(ItemStatus::Failed {
                            status: 429,
                            error_type: "es_rejected_execution_exception".into(),
                            reason: format!("still overloaded after {attempt} attempts"),
                        });
                    }
                    pending.clear();
                }
                break;
            }
            let delay = backoff_delay(
                attempt,
                config.backoff_initial,
                config.backoff_max,
                jitter(),
            );
            tracing::warn!(
                attempt,
                ops = pending.len(),
                delay_ms = delay.as_millis() as u64,
                %reason,
                "retrying bulk request"
            );
            BulkCounters::add(&counters.retries, 1);
            tokio::time::sleep(delay).await;
        }
        if let Some(e) = &request_error {
            tracing::warn!(error = %e, ops = n, "bulk request failed; its tickets resolve with the error");
        }
        self.resolve(results, request_error.as_ref(), counters);
    }

    fn resolve(
        &self,
        results: Vec<Option<ItemStatus>>,
        error: Option<&EsError>,
        counters: &BulkCounters,
    ) {
        let mut results = results.into_iter();
        let mut first_op = 0;
        for segment in &self.segments {
            let mut part = BatchOutcome::default();
            let mut unknown = 0u64;
            for (offset, status) in results.by_ref().take(segment.ops).enumerate() {
                match status {
                    Some(ItemStatus::Ok) => part.ok += 1,
                    Some(ItemStatus::Conflict) => part.conflicts += 1,
                    Some(ItemStatus::NotFound) => part.not_found += 1,
                    Some(ItemStatus::Failed {
                        status,
                        error_type,
                        reason,
                    }) => {
                        let op = op_identity(self.op_bytes(first_op + offset));
                        part.failures.push(BulkFailure {
                            op,
                            status,
                            error_type,
                            reason,
                        });
                    }
                    Some(ItemStatus::Retry) | None => unknown += 1,
                }
            }
            BulkCounters::add(&counters.ok, part.ok);
            BulkCounters::add(&counters.conflicts, part.conflicts);
            BulkCounters::add(&counters.not_found, part.not_found);
            BulkCounters::add(&counters.failures, part.failures.len() as u64);
            BulkCounters::add(&counters.unavailable, unknown);
            segment.ticket.finish_part(segment.ops, part, error);
            first_op += segment.ops;
        }
    }
}

/// The delay before retry number `attempt` (1 for the first retry): exponential from `initial`,
/// capped at `max`, with "equal jitter": half of it fixed, half scaled by `jitter` in `[0, 1)`, so
/// that writers retrying together spread out but never retry immediately.
pub fn backoff_delay(attempt: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let base = initial.saturating_mul(1u32 << exponent).min(max);
    base / 2 + base.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
}

/// A cheap random number in `[0, 1)` for jitter (splitmix64 over a global counter seeded from the
/// clock); jitter needs spread, not cryptographic quality.
pub fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut seed = STATE.load(Ordering::Relaxed);
    if seed == 0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9);
        seed = now | 1;
        STATE.store(seed, Ordering::Relaxed);
    }
    let mut z = STATE
        .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::es::bulk_sink::{BulkSink, SinkConfig};
    use crate::es::ndjson::VersionType;

    fn op(i: usize, source_len: usize) -> BulkOp {
        BulkOp::index(Arc::from("idx"), i.to_string(), vec![b'1'; source_len])
            .version(i as u64 + 1, VersionType::External)
    }

    fn fast_retries(config: BulkConfig) -> BulkConfig {
        BulkConfig {
            backoff_initial: Duration::from_millis(1),
            backoff_max: Duration::from_millis(5),
            ..config
        }
    }

    #[test]
    fn backoff_grows_exponentially_with_bounded_jitter() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        // With jitter 0 the delay is half the base; with jitter ~1 it approaches the base.
        assert_eq!(
            backoff_delay(1, initial, max, 0.0),
            Duration::from_millis(50)
        );
        assert_eq!(
            backoff_delay(2, initial, max, 0.0),
            Duration::from_millis(100)
        );
        assert_eq!(
            backoff_delay(3, initial, max, 0.0),
            Duration::from_millis(200)
        );
        assert_eq!(
            backoff_delay(3, initial, max, 1.0),
            Duration::from_millis(400)
        );
        // Capped at max, also for absurd attempt numbers.
        assert_eq!(backoff_delay(10, initial, max, 1.0), max);
        assert_eq!(backoff_delay(u32::MAX, initial, max, 0.0), max / 2);
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }

    #[tokio::test]
    async fn batches_are_cut_by_op_count() {
        let sink = BulkSink::start().await.expect("sink");
        let client = EsClient::new(sink.url()).expect("client");
        let mut writer = BulkWriter::new(
            client,
            BulkConfig {
                max_ops: 100,
                ..BulkConfig::default()
            },
        );
        let ticket = writer.submit((0..250).map(|i| op(i, 10)).collect()).await;
        // Two full requests start on their own; the last 50 wait for a flush.
        let stats = writer.flush().await;
        let outcome = ticket.await.expect("outcome");
        assert_eq!(outcome.ok, 250);
        assert_eq!(stats.requests, 3);
        assert_eq!(sink.stats().bulk_requests, 3);
        assert_eq!(sink.stats().ops, 250);
    }

    #[tokio::test]
    async fn batches_are_cut_by_bytes_and_big_ops_go_alone() {
        let sink = BulkSink::start().await.expect("sink");
        let client = EsClient::new(sink.url()).expect("client");
        let config = BulkConfig {
            max_ops: 1000,
            max_bytes: 4096,
            ..BulkConfig::default()
        };
        let mut writer = BulkWriter::new(client, config);
        // 1000-byte sources: at most 3 per 4 KiB body (each op is ~1060 bytes); the 10 KB one alone.
        let mut ops: Vec<BulkOp> = (0..9).map(|i| op(i, 1000)).collect();
        ops.push(op(9, 10_000));
        let ticket = writer.submit(ops).await;
        writer.flush().await;
        assert_eq!(ticket.await.expect("outcome").ok, 10);
        assert_eq!(sink.stats().bulk_requests, 4);
        assert!(sink.stats().bytes > 19_000);
    }

    #[tokio::test]
    async fn tickets_resolve_per_batch_across_requests() {
        let sink = BulkSink::start().await.expect("sink");
        let client = EsClient::new(sink.url()).expect("client");
        let mut writer = BulkWriter::new(
            client,
            BulkConfig {
                max_ops: 7,
                ..BulkConfig::default()
            },
        );
        let a = writer.submit((0..5).map(|i| op(i, 5)).collect()).await;
        let b = writer.submit((5..20).map(|i| op(i, 5)).collect()).await;
        let empty = writer.submit(Vec::new()).await;
        assert_eq!(
            empty.await.expect("empty batch resolves at once"),
            BatchOutcome::default()
        );
        let c = writer
            .write_batch((20..23).map(|i| op(i, 5)).collect())
            .await
            .expect("write_batch");
        assert_eq!(c.ok, 3);
        assert_eq!(a.await.expect("a").ok, 5);
        assert_eq!(b.await.expect("b").ok, 15);
        assert_eq!(writer.flush().await.ok, 23);
    }

    #[tokio::test]
    async fn transient_request_errors_and_item_429s_are_retried() {
        let config = SinkConfig {
            fail_first_bulk_requests: 2,
            item_429_every: 10,
        };
        let sink = BulkSink::start_with(config).await.expect("sink");
        let client = EsClient::new(sink.url()).expect("client");
        let mut writer = BulkWriter::new(
            client,
            fast_retries(BulkConfig {
                max_ops: 50,
                ..BulkConfig::default()
            }),
        );
        let outcome = writer
            .write_batch((0..200).map(|i| op(i, 20)).collect())
            .await
            .expect("outcome");
        let stats = writer.flush().await;
        assert_eq!(outcome.ok, 200, "{outcome:?}");
        assert!(outcome.failures.is_empty());
        assert_eq!(sink.stats().ops, 200);
        assert!(sink.stats().rejected_items >= 20);
        assert!(stats.retries >= 3, "{stats:?}");
    }

    #[tokio::test]
    async fn a_server_that_stays_down_gives_an_error_not_a_hang() {
        let config = SinkConfig {
            fail_first_bulk_requests: 1000,
            item_429_every: 0,
        };
        let sink = BulkSink::start_with(config).await.expect("sink");
        let client = EsClient::new(sink.url()).expect("client");
        let mut writer = BulkWriter::new(
            client,
            fast_retries(BulkConfig {
                max_attempts: 3,
                ..BulkConfig::default()
            }),
        );
        let err = writer
            .write_batch((0..10).map(|i| op(i, 20)).collect())
            .await
            .expect_err("must fail");
        assert!(
            matches!(err, EsError::BulkUnavailable { attempts: 3, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("503"), "{err}");
        let stats = writer.flush().await;
        assert_eq!(stats.unavailable, 10);
        assert_eq!(stats.requests, 3);
    }

    #[tokio::test]
    async fn items_that_stay_overloaded_become_failures() {
        let config = SinkConfig {
            fail_first_bulk_requests: 0,
            item_429_every: 1,
        };
        let sink = BulkSink::start_with(config).await.expect("sink");
        let client = EsClient::new(sink.url()).expect("client");
        let mut writer = BulkWriter::new(
            client,
            fast_retries(BulkConfig {
                max_attempts: 2,
                ..BulkConfig::default()
            }),
        );
        let outcome = writer
            .write_batch((0..3).map(|i| op(i, 20)).collect())
            .await
            .expect("outcome");
        assert_eq!(outcome.failures.len(), 3);
        assert_eq!(outcome.failures[1].status, 429);
        assert_eq!(outcome.failures[1].op.id, "1");
        assert_eq!(outcome.failures[1].op.index, "idx");
    }

    #[tokio::test]
    async fn in_flight_requests_are_bounded() {
        let sink = BulkSink::start().await.expect("sink");
        let client = EsClient::new(sink.url()).expect("client");
        let mut writer = BulkWriter::new(
            client,
            BulkConfig {
                max_ops: 10,
                concurrency: 2,
                ..BulkConfig::default()
            },
        );
        let counters = writer.counters();
        let mut tickets = Vec::new();
        for chunk in 0..50 {
            tickets.push(
                writer
                    .submit((chunk * 10..chunk * 10 + 10).map(|i| op(i, 50)).collect())
                    .await,
            );
            assert!(counters.snapshot().in_flight <= 2);
        }
        writer.flush().await;
        for t in tickets {
            assert_eq!(t.await.expect("ticket").ok, 10);
        }
        assert_eq!(counters.snapshot().ok, 500);
    }
}
