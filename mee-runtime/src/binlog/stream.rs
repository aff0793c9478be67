//! Following the binlog: [`BinlogReader`] connects as a replica, starts at a file position or a
//! MariaDB GTID position, and turns the event stream into [`BinlogEvent`]s.
//!
//! Positions only advance at transaction ends (XID, XA_PREPARE, `XA COMMIT`/`XA ROLLBACK`, a
//! COMMIT/ROLLBACK query of non-transactional engines, or a standalone DDL), so every position
//! the reader hands out is a safe resume point (with its `resume_from`, see below).
//!
//! The handling of raw events lives in [`EventDecoder`], which has no I/O, so that the tricky
//! cases (the artificial ROTATE, compressed events, truncated events) are unit-tested.
//!
//! # XA transactions
//!
//! MariaDB writes an XA transaction in two groups: a GTID event flagged `FL_PREPARED_XA` (with
//! the XA id; there is no `XA START` event), the rows, `XA END` as a query and an XA_PREPARE
//! event; then, later and possibly after other transactions, a GTID event flagged
//! `FL_COMPLETED_XA` and an `XA COMMIT` or `XA ROLLBACK` query (`XA COMMIT ... ONE PHASE` is an
//! ordinary transaction). The decoder holds a prepared transaction's rows (of the filtered
//! tables) until its `XA COMMIT`, then yields them and the commit; at `XA ROLLBACK` it drops
//! them. The XA_PREPARE still ends a group (a [`BinlogEvent::Commit`] without rows), so that the
//! transactions after it flow on.
//!
//! - Restarts: every position yielded while such a transaction is pending carries
//!   [`BinlogPosition::resume_from`], its start. A reader started at that position streams from
//!   there, collects the pending transactions again, and yields nothing up to the position
//!   itself; so a checkpoint never loses a prepared transaction.
//! - Memory: at most [`ReaderConfig::max_held_xa_rows`] row changes are held; a transaction that
//!   would pass it is dropped and read again at its commit.
//! - An `XA COMMIT` whose prepare the reader did not see (it started later, at a snapshot taken
//!   while the transaction was prepared and invisible, or from a GTID) is read again: its
//!   `XA START` is found with `SHOW BINLOG EVENTS` from the current file backwards and a side
//!   stream reads that one transaction. When the binlog no longer has it, the reader stops with
//!   the fix (`mee update`).

use super::BinlogError;
use super::decode::{RawRows, RowChange, RowKind, TablePlan};
use super::position::{BinlogPosition, Gtid, GtidState, parse_gtid_list};
use super::settings::read_server_settings;
use futures::{FutureExt, StreamExt};
use mysql_async::binlog::EventType;
use mysql_async::binlog::events::{Event, FormatDescriptionEvent, QueryEvent, TableMapEvent};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, Opts};
use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where to start reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// A file and offset, normally a saved [`BinlogEvent::Commit`] position. Its GTID list, when
    /// present, seeds the GTIDs of later positions (else MariaDB is asked for it).
    Position(BinlogPosition),
    /// A MariaDB GTID list (`D-S-N,...`): the server finds the file and offset itself.
    Gtid(String),
}

/// Which tables' rows to decode. Rows of other tables are skipped before any decoding, by the
/// schema and table named in their TABLE_MAP event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableFilter {
    schemas: Option<HashSet<String>>,
    tables: Option<HashSet<(String, String)>>,
}

impl TableFilter {
    /// Every table of every schema.
    pub fn all() -> Self {
        TableFilter::default()
    }

    /// Only tables of these schemas.
    pub fn schemas<I: IntoIterator<Item = S>, S: Into<String>>(schemas: I) -> Self {
        TableFilter {
            schemas: Some(schemas.into_iter().map(Into::into).collect()),
            tables: None,
        }
    }

    /// Additionally restricts to these `(schema, table)` pairs.
    pub fn with_tables<I: IntoIterator<Item = (S, T)>, S: Into<String>, T: Into<String>>(
        mut self,
        tables: I,
    ) -> Self {
        self.tables = Some(
            tables
                .into_iter()
                .map(|(s, t)| (s.into(), t.into()))
                .collect(),
        );
        self
    }

    pub fn allows(&self, schema: &str, table: &str) -> bool {
        self.allows_schema(schema)
            && self
                .tables
                .as_ref()
                .is_none_or(|t| t.contains(&(schema.to_string(), table.to_string())))
    }

    pub fn allows_schema(&self, schema: &str) -> bool {
        self.schemas.as_ref().is_none_or(|s| s.contains(schema))
            && self
                .tables
                .as_ref()
                .is_none_or(|t| t.iter().any(|(s, _)| s == schema))
    }

    /// Whether a DDL statement may concern a wanted schema: its session schema is wanted, or
    /// its text names one (DDL is rare, so a substring test is cheap enough).
    fn may_concern(&self, session_schema: &str, query: &str) -> bool {
        match &self.schemas {
            None => true,
            Some(s) => {
                s.contains(session_schema) || s.iter().any(|name| query.contains(name.as_str()))
            }
        }
    }
}

/// How to read.
#[derive(Clone, Debug)]
pub struct ReaderConfig {
    /// This reader's replica server id: unique among all replicas and readers of the server, and
    /// different from the server's own id.
    pub server_id: u32,
    pub start: StartAt,
    /// Follow the binlog forever (`true`), or stop at its current end (`false`).
    pub blocking: bool,
    pub filter: TableFilter,
    /// Heartbeat period asked of the server; a stream that is silent (not even heartbeats) for
    /// three periods is reported as [`BinlogError::Stalled`].
    pub heartbeat: Option<Duration>,
    /// When set, [`BinlogReader::next`] yields [`BinlogEvent::Idle`] after this long without a
    /// data event. Heartbeats do not count as data.
    pub idle_timeout: Option<Duration>,
    /// Run the settings check before streaming (on by default).
    pub check_settings: bool,
    /// At most this many row changes of prepared, not yet committed XA transactions are held in
    /// memory (100 000 by default). The rows of a transaction that would pass the limit are
    /// dropped and read again from the binlog when its `XA COMMIT` arrives.
    pub max_held_xa_rows: usize,
}

impl ReaderConfig {
    pub fn new(server_id: u32, start: StartAt) -> Self {
        ReaderConfig {
            server_id,
            start,
            blocking: true,
            filter: TableFilter::all(),
            heartbeat: Some(Duration::from_secs(5)),
            idle_timeout: None,
            check_settings: true,
            max_held_xa_rows: 100_000,
        }
    }

    pub fn non_blocking(mut self) -> Self {
        self.blocking = false;
        self
    }

    pub fn with_filter(mut self, filter: TableFilter) -> Self {
        self.filter = filter;
        self
    }

    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = Some(idle);
        self
    }

    pub fn with_heartbeat(mut self, period: Option<Duration>) -> Self {
        self.heartbeat = period;
        self
    }
}

/// The row changes of one rows event (one statement's changes to one table, or part of them).
#[derive(Clone, Debug)]
pub struct RowsEvent {
    /// The table's decode plan: schema, table, column names and types, primary key.
    pub plan: Arc<TablePlan>,
    pub kind: RowKind,
    pub rows: Vec<RowChange>,
    /// The event's header time (Unix seconds).
    pub timestamp: u32,
    /// The end offset of this event in its file: for diagnostics, not a resume point.
    pub log_pos: u64,
}

impl RowsEvent {
    pub fn schema(&self) -> &str {
        self.plan.schema()
    }

    pub fn table(&self) -> &str {
        self.plan.table()
    }
}

/// What the reader yields.
#[derive(Clone, Debug)]
pub enum BinlogEvent {
    Rows(RowsEvent),
    /// The end of a transaction: `position` is the safe resume point after it.
    Commit {
        position: BinlogPosition,
        timestamp: u32,
    },
    /// A statement logged as text (DDL, `TRUNCATE`, `GRANT`...). When it forms its own
    /// transaction (as DDL does), `position` is the resume point after it; inside a transaction
    /// it is the last commit position.
    Ddl {
        schema: String,
        query: String,
        position: BinlogPosition,
        timestamp: u32,
    },
    /// The server moved to a new binlog file; `position` (its start) is a safe resume point.
    Rotate {
        next_file: String,
        position: BinlogPosition,
    },
    /// No data event for [`ReaderConfig::idle_timeout`].
    Idle,
}

/// The MariaDB GTID event's flag that marks a group without BEGIN/COMMIT (DDL).
const FL_STANDALONE: u8 = 1;
/// The GTID event carries a commit id (8 bytes after the flags).
const FL_GROUP_COMMIT_ID: u8 = 2;
/// The group is the first phase of an XA transaction: it ends with XA_PREPARE, not a commit.
const FL_PREPARED_XA: u8 = 64;
/// The group is the `XA COMMIT` or `XA ROLLBACK` of a prepared XA transaction.
const FL_COMPLETED_XA: u8 = 128;
/// A side stream that reads a prepared XA transaction again registers with the reader's server
/// id plus this (the catch-up reader uses the reader's id plus 1 000 000 000).
pub const XA_LOOKUP_SERVER_ID_OFFSET: u32 = 2_000_000_000;

/// An XA transaction id: format id, global transaction id and branch qualifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Xid {
    pub format: u32,
    pub gtrid: Vec<u8>,
    pub bqual: Vec<u8>,
}

impl std::fmt::Display for Xid {
    /// The form the server writes in the binlog: `X'6131',X'',1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        write!(
            f,
            "X'{}',X'{}',{}",
            hex(&self.gtrid),
            hex(&self.bqual),
            self.format
        )
    }
}

impl Xid {
    /// The id in a MariaDB GTID event with [`FL_PREPARED_XA`] or [`FL_COMPLETED_XA`]: after
    /// seq, domain and flags (and the commit id when flagged), format u32, gtrid length u8,
    /// bqual length u8, then both ids.
    fn from_gtid_event(d: &[u8]) -> Option<Xid> {
        let flags = *d.get(12)?;
        let mut at = 13;
        if flags & FL_GROUP_COMMIT_ID != 0 {
            at += 8;
        }
        let format = u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?);
        let g = usize::from(*d.get(at + 4)?);
        let b = usize::from(*d.get(at + 5)?);
        let data = d.get(at + 6..at + 6 + g + b)?;
        Some(Xid {
            format,
            gtrid: data[..g].to_vec(),
            bqual: data[g..].to_vec(),
        })
    }

    /// The id in an XA_PREPARE event: one-phase u8, format u32, gtrid length u32, bqual length
    /// u32, then both ids.
    fn from_prepare_event(d: &[u8]) -> Option<Xid> {
        let format = u32::from_le_bytes(d.get(1..5)?.try_into().ok()?);
        let g = u32::from_le_bytes(d.get(5..9)?.try_into().ok()?) as usize;
        let b = u32::from_le_bytes(d.get(9..13)?.try_into().ok()?) as usize;
        let data = d.get(13..13 + g.checked_add(b)?)?;
        Some(Xid {
            format,
            gtrid: data[..g].to_vec(),
            bqual: data[g..].to_vec(),
        })
    }

    /// The id in the text of an `XA ...` statement as the server logs it (`X'..',X'..',N`), or
    /// as a person writes it (`'gtrid'[,'bqual'[,N]]`). `text` starts after the keywords.
    pub fn from_statement(text: &str) -> Option<Xid> {
        let mut parts = Vec::new();
        let mut rest = text.trim_start();
        for _ in 0..3 {
            rest = rest.trim_start();
            let (value, tail) =
                if let Some(r) = rest.strip_prefix("X'").or_else(|| rest.strip_prefix("x'")) {
                    let end = r.find('\'')?;
                    let hex = &r[..end];
                    if hex.len() % 2 != 0 {
                        return None;
                    }
                    let bytes = (0..hex.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                        .collect::<Option<Vec<u8>>>()?;
                    (bytes, &r[end + 1..])
                } else if let Some(r) = rest.strip_prefix('\'') {
                    let end = r.find('\'')?;
                    (r.as_bytes()[..end].to_vec(), &r[end + 1..])
                } else {
                    let end = rest
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(rest.len());
                    if end == 0 {
                        break;
                    }
                    (rest.as_bytes()[..end].to_vec(), &rest[end..])
                };
            parts.push(value);
            rest = tail.trim_start();
            match rest.strip_prefix(',') {
                Some(r) => rest = r,
                None => break,
            }
        }
        let mut parts = parts.into_iter();
        let gtrid = parts.next()?;
        let bqual = parts.next().unwrap_or_default();
        let format = match parts.next() {
            Some(n) => std::str::from_utf8(&n).ok()?.parse().ok()?,
            None => 1,
        };
        Some(Xid {
            format,
            gtrid,
            bqual,
        })
    }
}

/// The rows of an XA transaction, from its first event to its `XA PREPARE` and then until its
/// `XA COMMIT` or `XA ROLLBACK`.
#[derive(Debug)]
struct XaGroup {
    xid: Xid,
    /// The resume point before the transaction's first event.
    start: BinlogPosition,
    rows: Vec<RowsEvent>,
    /// The rows passed [`ReaderConfig::max_held_xa_rows`] and were dropped: read them again at
    /// the commit.
    dropped: bool,
}

/// An `XA COMMIT` whose transaction's rows the decoder does not hold (its XA PREPARE came
/// before the stream's start, or its rows were dropped): the reader reads them from the binlog
/// (`start`, when known, is where the transaction begins) and then yields them and `commit`.
#[derive(Debug)]
pub struct MissingXa {
    pub xid: Xid,
    pub start: Option<BinlogPosition>,
    /// Where the `XA COMMIT` is, for messages.
    pub at: String,
    commit: BinlogEvent,
}
/// Table maps kept between transactions (see `EventDecoder::advance`).
const TABLE_MAPS_KEPT: usize = 4096;
/// `LOG_EVENT_ARTIFICIAL_F`: the event was made up by the dump thread (fake ROTATE).
const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;

/// Tables seen in TABLE_MAP events: the raw event body (to reuse the plan when the same map
/// comes again, which it does for every statement) and the plan, `None` when filtered out.
/// mysql_async's own stream keeps every map too (it clears them only at a real ROTATE), which
/// mee does not use: it never evicts a map early either.
struct TableEntry {
    raw: Vec<u8>,
    plan: Option<Arc<TablePlan>>,
}

/// Turns raw binlog events into [`BinlogEvent`]s and keeps the position and GTID state.
pub struct EventDecoder {
    file: String,
    committed: BinlogPosition,
    /// The GTID state, `None` while unknown (then positions carry no GTID list).
    gtids: Option<GtidState>,
    current_gtid: Option<Gtid>,
    in_transaction: bool,
    tables: HashMap<u64, TableEntry>,
    filter: TableFilter,
    /// The end offset of the last real event, for error messages.
    last_pos: u64,
    /// The end of the last group read (without a resume point), also while replaying: where an
    /// XA transaction that starts next begins.
    last_end: BinlogPosition,
    /// The XA transaction being read, until its XA PREPARE.
    xa_open: Option<XaGroup>,
    /// Prepared XA transactions not yet committed or rolled back, in binlog order.
    prepared: Vec<XaGroup>,
    /// The XA id named by the GTID event of an `XA COMMIT`/`XA ROLLBACK` group.
    xa_completing: Option<Xid>,
    held_rows: usize,
    max_held_rows: usize,
    /// Events ready to be yielded (an XA transaction's rows and its commit).
    queue: VecDeque<BinlogEvent>,
    missing: Option<MissingXa>,
    /// Transactions ending at or before this position were applied before (the stream started
    /// earlier only to find prepared XA transactions again): nothing of theirs is yielded.
    replay_to: Option<BinlogPosition>,
}

impl EventDecoder {
    /// A decoder that starts at `start` (its `file` may be empty when a GTID start lets the
    /// server choose; the artificial ROTATE then names it).
    pub fn new(start: BinlogPosition, filter: TableFilter) -> Self {
        let gtids = match &start.gtid {
            Some(list) => parse_gtid_list(list).ok().map(|l| GtidState::from_list(&l)),
            None => None,
        };
        EventDecoder {
            file: start.file.clone(),
            last_pos: start.pos,
            last_end: start.clone().without_resume(),
            committed: start,
            gtids,
            current_gtid: None,
            in_transaction: false,
            tables: HashMap::new(),
            filter,
            xa_open: None,
            prepared: Vec::new(),
            xa_completing: None,
            held_rows: 0,
            max_held_rows: usize::MAX,
            queue: VecDeque::new(),
            missing: None,
            replay_to: None,
        }
    }

    /// For a decoder created at `start.stream_start()`: the part up to `start` is read again
    /// only to find the XA transactions prepared before `start` and still pending; nothing of
    /// it is yielded, and the position stays `start` until the stream passes it.
    pub fn resuming_at(mut self, start: &BinlogPosition) -> Self {
        if start.resume_from.is_some() {
            self.replay_to = Some(start.clone().without_resume());
            self.committed = start.clone();
        }
        self
    }

    /// Limits the row changes held for prepared XA transactions.
    pub fn with_max_held_xa_rows(mut self, max: usize) -> Self {
        self.max_held_rows = max;
        self
    }

    /// The next event ready without reading more (an XA transaction's rows and commit).
    pub fn next_queued(&mut self) -> Option<BinlogEvent> {
        self.queue.pop_front()
    }

    /// An `XA COMMIT` whose rows must be read from the binlog before anything else is yielded.
    pub fn missing_xa(&self) -> Option<&MissingXa> {
        self.missing.as_ref()
    }

    /// Yields the rows read again for the [`MissingXa`], then its commit.
    pub fn resolve_missing_xa(&mut self, rows: Vec<RowsEvent>) {
        if let Some(missing) = self.missing.take() {
            self.queue.extend(rows.into_iter().map(BinlogEvent::Rows));
            self.queue.push_back(missing.commit);
        }
    }

    /// Takes the rows of the prepared XA transaction `xid`, if this decoder read its prepare.
    pub fn take_prepared(&mut self, xid: &Xid) -> Option<Vec<RowsEvent>> {
        let i = self.prepared.iter().rposition(|g| &g.xid == xid)?;
        let g = self.prepared.remove(i);
        (!g.dropped).then_some(g.rows)
    }

    /// Row changes held for prepared XA transactions now.
    pub fn held_xa_rows(&self) -> usize {
        self.held_rows
    }

    fn replaying(&self, pos: u64) -> bool {
        self.replay_to
            .as_ref()
            .is_some_and(|r| at_or_before(&BinlogPosition::new(self.file.clone(), pos), r))
    }

    /// The last safe resume point.
    pub fn position(&self) -> &BinlogPosition {
        &self.committed
    }

    /// `file:offset` of the last event handled, for messages.
    pub fn where_(&self) -> String {
        format!("{}:{}", self.file, self.last_pos)
    }

    /// Handles one event; `Ok(None)` for events that yield nothing (heartbeats, table maps...).
    /// A panic inside mysql_common's parsers is contained and becomes [`BinlogError::Corrupt`].
    pub fn handle(&mut self, ev: &Event) -> Result<Option<BinlogEvent>, BinlogError> {
        match catch_unwind(AssertUnwindSafe(|| self.handle_inner(ev))) {
            Ok(result) => result,
            Err(panic) => Err(BinlogError::Corrupt {
                position: format!("{}:{}", self.file, ev.header().log_pos()),
                message: panic_message(&panic),
            }),
        }
    }

    fn handle_inner(&mut self, ev: &Event) -> Result<Option<BinlogEvent>, BinlogError> {
        let header = ev.header();
        let type_code = header.event_type_raw();
        let artificial = header.flags_raw() & LOG_EVENT_ARTIFICIAL_F != 0 || header.log_pos() == 0;
        if !artificial {
            self.last_pos = u64::from(header.log_pos());
        }
        let here = || format!("{}:{}", self.file, header.log_pos());

        if let Some((kind, _)) = RowKind::from_event_type(type_code) {
            return self.rows(ev, kind);
        }
        match type_code {
            // ROTATE
            4 => {
                let (pos, name) = parse_rotate(ev)?;
                if artificial {
                    // The dump thread's fake ROTATE names the file it starts in; it is not a
                    // position change of its own.
                    tracing::debug!(file = %name, pos, "binlog stream starts in file");
                    if self.committed.file.is_empty() {
                        self.committed.file = name.clone();
                        self.committed.pos = pos;
                    }
                    self.file = name;
                    Ok(None)
                } else {
                    self.file = name.clone();
                    self.tables.clear();
                    let at = BinlogPosition {
                        file: name.clone(),
                        pos,
                        gtid: self.gtids.as_ref().map(GtidState::render),
                        resume_from: None,
                    };
                    if !self.set_position(at) {
                        return Ok(None);
                    }
                    Ok(Some(BinlogEvent::Rotate {
                        next_file: name,
                        position: self.committed.clone(),
                    }))
                }
            }
            // QUERY
            2 => {
                let q = ev
                    .read_event::<QueryEvent<'_>>()
                    .map_err(|e| self.decode_err(here(), e))?;
                let query = q.query().into_owned();
                let schema = q.schema().into_owned();
                self.query(ev, schema, query)
            }
            // XID.
            16 => Ok(self.end_group(ev)),
            // XA PREPARE: the end of an XA transaction's first phase. Its rows are held until
            // its `XA COMMIT` (or dropped at its `XA ROLLBACK`); the group still ends here.
            38 => {
                match self.xa_open.take() {
                    Some(g) => self.prepared.push(g),
                    None => {
                        // Not seen as an XA transaction from its start (no GTID flag, no
                        // `XA START`): its rows were yielded already, so this is its commit.
                        let xid = Xid::from_prepare_event(ev.data());
                        tracing::warn!(position = %here(), xid = ?xid, "XA PREPARE without a known start: applied at prepare");
                    }
                }
                Ok(self.end_group(ev))
            }
            // TABLE_MAP
            19 => self.table_map(ev),
            // MariaDB GTID: seq u64, domain u32, flags u8.
            162 => {
                let d = ev.data();
                if d.len() < 13 {
                    return Err(self.decode_err(here(), "the GTID event is shorter than 13 bytes"));
                }
                let seq = u64::from_le_bytes(d[0..8].try_into().unwrap_or_default());
                let domain = u32::from_le_bytes(d[8..12].try_into().unwrap_or_default());
                let flags = d[12];
                self.xa_completing = None;
                if flags & FL_PREPARED_XA != 0 {
                    let xid = Xid::from_gtid_event(d).ok_or_else(|| {
                        self.decode_err(here(), "the XA id of the GTID event is truncated")
                    })?;
                    self.xa_open = Some(XaGroup {
                        xid,
                        start: self.last_end.clone(),
                        rows: Vec::new(),
                        dropped: false,
                    });
                }
                if flags & FL_COMPLETED_XA != 0 {
                    self.xa_completing = Xid::from_gtid_event(d);
                }
                self.current_gtid = Some(Gtid {
                    domain,
                    server: header.server_id(),
                    seq,
                });
                // A GTID event replaces BEGIN; standalone groups (DDL) have no COMMIT.
                self.in_transaction = flags & FL_STANDALONE == 0;
                Ok(None)
            }
            // MariaDB GTID_LIST: the GTID state at the start of a file.
            163 => {
                if self.gtids.is_none() {
                    let list = parse_gtid_list_event(ev.data())
                        .ok_or_else(|| self.decode_err(here(), "bad GTID_LIST event"))?;
                    self.gtids = Some(GtidState::from_list(&list));
                    if !self.committed.file.is_empty() {
                        self.committed.gtid = self.gtids.as_ref().map(GtidState::render);
                    }
                }
                Ok(None)
            }
            // MariaDB compressed QUERY and rows events.
            165..=171 => Err(BinlogError::Unsupported(format!(
                "the binlog event at {} is compressed (type {type_code}), which mee cannot \
                 decode without losing rows: run `SET GLOBAL log_bin_compress=OFF` (and set it \
                 in the server configuration), then restart mee from a position after the \
                 compressed events or rebuild the indices with `mee update`",
                here()
            ))),
            // MySQL partial JSON updates and pre-GA rows events.
            20..=22 | 39 => Err(BinlogError::Unsupported(format!(
                "the binlog event at {} is a rows event of type {type_code} that carries partial \
                 rows: set `binlog_row_value_options=''` (no PARTIAL_JSON) on the server and \
                 restart mee",
                here()
            ))),
            // Events that carry nothing mee needs: START_V3, STOP, INTVAR, LOAD variants, RAND,
            // USER_VAR, FORMAT_DESCRIPTION, heartbeats, IGNORABLE, ROWS_QUERY, MySQL GTID
            // events, TRANSACTION_CONTEXT, VIEW_CHANGE, TRANSACTION_PAYLOAD (mysql_async expands
            // it), MariaDB ANNOTATE_ROWS, BINLOG_CHECKPOINT, START_ENCRYPTION.
            1 | 3 | 5..=15 | 17 | 18 | 27..=29 | 33..=37 | 40..=42 | 160 | 161 | 164 => Ok(None),
            26 => {
                tracing::error!(position = %here(), "the server logged an INCIDENT event: changes around it may be missing from the binlog");
                Ok(None)
            }
            other => Err(BinlogError::Unsupported(format!(
                "the binlog event at {} has type {other}, which mee does not know and which may \
                 carry row changes: upgrade mee or disable the server feature that writes it",
                here()
            ))),
        }
    }

    fn decode_err(&self, position: String, e: impl std::fmt::Display) -> BinlogError {
        BinlogError::Decode {
            position,
            message: e.to_string(),
        }
    }

    fn table_map(&mut self, ev: &Event) -> Result<Option<BinlogEvent>, BinlogError> {
        let data = ev.data();
        let table_id_len = table_id_len(ev.fde());
        let mut id_bytes = [0u8; 8];
        let id_len = table_id_len.min(data.len());
        id_bytes[..id_len].copy_from_slice(&data[..id_len]);
        let table_id = u64::from_le_bytes(id_bytes);
        if self.tables.get(&table_id).is_some_and(|t| t.raw == data) {
            return Ok(None);
        }
        let position = format!("{}:{}", self.file, ev.header().log_pos());
        let tme = ev
            .read_event::<TableMapEvent<'_>>()
            .map_err(|e| self.decode_err(position.clone(), e))?;
        let plan = if self.filter.allows(&tme.database_name(), &tme.table_name()) {
            let plan = TablePlan::from_table_map(&tme).map_err(|e| self.decode_err(position, e))?;
            Some(Arc::new(plan))
        } else {
            None
        };
        self.tables.insert(
            tme.table_id(),
            TableEntry {
                raw: data.to_vec(),
                plan,
            },
        );
        Ok(None)
    }

    fn rows(&mut self, ev: &Event, kind: RowKind) -> Result<Option<BinlogEvent>, BinlogError> {
        let header = ev.header();
        let position = || format!("{}:{}", self.file, header.log_pos());
        let raw = RawRows::parse(header.event_type_raw(), ev.data(), table_id_len(ev.fde()))
            .map_err(|e| self.decode_err(position(), e))?;
        let Some(entry) = self.tables.get(&raw.table_id) else {
            return Err(self.decode_err(
                position(),
                format!(
                    "rows for table id {} whose TABLE_MAP was not seen: the stream started \
                     inside a transaction; resume from a commit position",
                    raw.table_id
                ),
            ));
        };
        let Some(plan) = &entry.plan else {
            return Ok(None);
        };
        let replaying = self.replaying(u64::from(header.log_pos()));
        if self.xa_open.as_ref().is_some_and(|g| g.dropped) || (replaying && self.xa_open.is_none())
        {
            return Ok(None);
        }
        let rows = plan
            .decode_rows(&raw)
            .map_err(|e| self.decode_err(position(), e))?;
        debug_assert_eq!(raw.kind, kind);
        let event = RowsEvent {
            plan: Arc::clone(plan),
            kind,
            rows,
            timestamp: header.timestamp(),
            log_pos: u64::from(header.log_pos()),
        };
        if let Some(g) = &mut self.xa_open {
            // Held until the XA COMMIT; past the limit, read again then.
            let n = event.rows.len();
            if self.held_rows.saturating_add(n) > self.max_held_rows {
                tracing::warn!(position = %position(), xid = %g.xid, "an XA transaction holds too many row changes: they are read again from the binlog at its XA COMMIT");
                self.held_rows -= g.rows.iter().map(|e| e.rows.len()).sum::<usize>();
                g.rows = Vec::new();
                g.dropped = true;
            } else {
                self.held_rows += n;
                g.rows.push(event);
            }
            return Ok(None);
        }
        Ok(Some(BinlogEvent::Rows(event)))
    }

    fn query(
        &mut self,
        ev: &Event,
        schema: String,
        query: String,
    ) -> Result<Option<BinlogEvent>, BinlogError> {
        let trimmed = query.trim_start();
        let word = |w: &str| {
            trimmed.len() >= w.len()
                && trimmed[..w.len()].eq_ignore_ascii_case(w)
                && trimmed[w.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_')
        };
        if word("BEGIN") || word("START TRANSACTION") {
            self.in_transaction = true;
            return Ok(None);
        }
        // COMMIT ends a group of non-transactional changes; ROLLBACK ends one whose
        // non-transactional changes were kept anyway.
        if (word("COMMIT") || word("ROLLBACK")) && !word("ROLLBACK TO") {
            return Ok(self.end_group(ev));
        }
        if word("SAVEPOINT") || word("ROLLBACK TO") || word("RELEASE SAVEPOINT") {
            return Ok(None);
        }
        if word("XA") {
            return self.xa_statement(ev, trimmed[2..].trim_start());
        }
        let timestamp = ev.header().timestamp();
        let fresh = if self.in_transaction {
            !self.replaying(u64::from(ev.header().log_pos()))
        } else {
            self.advance(ev)
        };
        if !fresh || !self.filter.may_concern(&schema, &query) {
            return Ok(None);
        }
        Ok(Some(BinlogEvent::Ddl {
            schema,
            query,
            position: self.committed.clone(),
            timestamp,
        }))
    }

    /// `XA START/END/COMMIT/ROLLBACK` (`rest` follows `XA`). MariaDB marks an XA transaction's
    /// first phase in its GTID event and logs no `XA START`; MySQL logs `XA START` as a query.
    fn xa_statement(&mut self, ev: &Event, rest: &str) -> Result<Option<BinlogEvent>, BinlogError> {
        let after = |w: &str| {
            (rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w))
                .then(|| &rest[w.len()..])
        };
        if let Some(id) = after("START").or_else(|| after("BEGIN")) {
            if self.xa_open.is_none()
                && let Some(xid) = Xid::from_statement(id)
            {
                self.xa_open = Some(XaGroup {
                    xid,
                    start: self.last_end.clone(),
                    rows: Vec::new(),
                    dropped: false,
                });
            }
            return Ok(None);
        }
        let (commit, id) = match (after("COMMIT"), after("ROLLBACK")) {
            (Some(id), _) => (true, id),
            (None, Some(id)) => (false, id),
            // XA END (and anything else) changes nothing.
            _ => return Ok(None),
        };
        let here = format!("{}:{}", self.file, ev.header().log_pos());
        let Some(xid) = self
            .xa_completing
            .take()
            .or_else(|| Xid::from_statement(id))
        else {
            return Err(BinlogError::Unsupported(format!(
                "the binlog event at {here} ends an XA transaction whose id mee cannot read                  (`XA {rest}`); report this with the output of `mariadb-binlog` around it"
            )));
        };
        // `XA COMMIT ... ONE PHASE` ends the open transaction itself (MySQL); otherwise the
        // transaction was prepared earlier.
        let group = if self.xa_open.as_ref().is_some_and(|g| g.xid == xid) {
            self.xa_open.take()
        } else {
            self.prepared
                .iter()
                .rposition(|g| g.xid == xid)
                .map(|i| self.prepared.remove(i))
        };
        if let Some(g) = &group {
            self.held_rows -= g.rows.iter().map(|e| e.rows.len()).sum::<usize>();
        }
        let Some(commit_event) = self.end_group(ev) else {
            // Committed before the position the stream resumes from: applied already.
            return Ok(None);
        };
        if !commit {
            // Rolled back: its rows never happened.
            return Ok(Some(commit_event));
        }
        match group {
            Some(g) if !g.dropped => {
                self.queue.extend(g.rows.into_iter().map(BinlogEvent::Rows));
                self.queue.push_back(commit_event);
                Ok(self.queue.pop_front())
            }
            other => {
                self.missing = Some(MissingXa {
                    xid,
                    start: other.map(|g| g.start),
                    at: here,
                    commit: commit_event,
                });
                Ok(None)
            }
        }
    }

    /// Ends the current transaction at this event and yields its resume point (nothing while
    /// replaying up to the start position).
    fn end_group(&mut self, ev: &Event) -> Option<BinlogEvent> {
        self.advance(ev).then(|| BinlogEvent::Commit {
            position: self.committed.clone(),
            timestamp: ev.header().timestamp(),
        })
    }

    /// Ends a group at this event; `false` while replaying (the position stays the start).
    fn advance(&mut self, ev: &Event) -> bool {
        // Table ids grow with every table definition the server loads, so a long stream would
        // keep stale maps forever: start over now and then. Only here, between transactions:
        // every map a statement's rows need comes before them in the same transaction, so a
        // map is never evicted while a statement (of any number of tables, triggers included)
        // still needs it, and the maps of one transaction are all kept until its end.
        if self.tables.len() >= TABLE_MAPS_KEPT {
            self.tables.clear();
        }
        if let Some(g) = self.current_gtid.take()
            && let Some(state) = &mut self.gtids
        {
            state.apply(g);
        }
        self.in_transaction = false;
        self.set_position(BinlogPosition {
            file: self.file.clone(),
            pos: u64::from(ev.header().log_pos()),
            gtid: self.gtids.as_ref().map(GtidState::render),
            resume_from: None,
        })
    }

    /// Records the end of a group at `at` (which has no resume point of its own yet); `false`
    /// while replaying.
    fn set_position(&mut self, mut at: BinlogPosition) -> bool {
        self.last_end = at.clone();
        if self
            .replay_to
            .as_ref()
            .is_some_and(|r| at_or_before(&at, r))
        {
            return false;
        }
        self.replay_to = None;
        // Only a pending transaction with rows of the filtered tables must be read again; one of
        // other tables would only pin the resume point (an XA COMMIT of it after a restart is
        // looked up, finds no rows, and costs nothing else).
        at.resume_from = self
            .prepared
            .iter()
            .find(|g| g.dropped || !g.rows.is_empty())
            .map(|g| Box::new(g.start.clone()));
        self.committed = at;
        true
    }
}

/// Where the last `XA START` of `xid` before `file:before` is: `SHOW BINLOG EVENTS` over the
/// binlog files from `file` backwards (streamed: a file's events are never all in memory).
async fn find_xa_start(
    conn: &mut Conn,
    xid: &Xid,
    file: &str,
    before: u64,
    at: &str,
) -> Result<BinlogPosition, BinlogError> {
    let logs: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|e| BinlogError::mysql("listing the binlog files", e))?;
    let mut names: Vec<String> = logs
        .into_iter()
        .filter_map(|r| r.get::<String, _>(0))
        .collect();
    if let Some(i) = names.iter().position(|n| n == file) {
        names.truncate(i + 1);
    }
    let wanted = format!("XA START {xid}");
    for name in names.iter().rev() {
        // Names come from the server; anything else than a plain file name is not queried.
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            continue;
        }
        let mut found: Option<u64> = None;
        let mut result = conn
            .query_iter(format!("SHOW BINLOG EVENTS IN '{name}'"))
            .await
            .map_err(|e| BinlogError::mysql(&format!("reading the events of {name}"), e))?;
        let limit = (name == file).then_some(before);
        result
            .for_each(|row| {
                let pos: Option<u64> = row.get(1);
                let info: Option<String> = row.get(5);
                if let (Some(pos), Some(info)) = (pos, info)
                    && info.starts_with(&wanted)
                    && info[wanted.len()..].chars().next().is_none_or(|c| c == ' ')
                    && limit.is_none_or(|l| pos < l)
                {
                    found = Some(pos);
                }
            })
            .await
            .map_err(|e| BinlogError::mysql(&format!("reading the events of {name}"), e))?;
        if let Some(pos) = found {
            return Ok(BinlogPosition::new(name.clone(), pos));
        }
    }
    Err(BinlogError::Unsupported(format!(
        "the XA COMMIT at {at} commits XA transaction {xid}, whose XA PREPARE is no longer in          the binlog (purged), so its changes cannot be read: rebuild the index with `mee update`"
    )))
}

/// `a` is at or before `b` in the binlog (file sequence, then offset).
fn at_or_before(a: &BinlogPosition, b: &BinlogPosition) -> bool {
    (a.file_seq(), a.pos) <= (b.file_seq(), b.pos)
}

fn table_id_len(fde: &FormatDescriptionEvent<'_>) -> usize {
    // Servers before MySQL 5.1.4 used 4-byte table ids and a 6-byte post-header.
    if fde.get_event_type_header_length(EventType::TABLE_MAP_EVENT) == 6 {
        4
    } else {
        6
    }
}

/// Reads a ROTATE body (position u64, then the file name). The artificial ROTATE the dump thread
/// sends before the first FORMAT_DESCRIPTION may still carry its 4 CRC32 bytes, because nothing
/// told the parser yet that events are checksummed: strip them when they are the event's CRC.
pub(crate) fn parse_rotate(ev: &Event) -> Result<(u64, String), BinlogError> {
    let data = ev.data();
    if data.len() < 8 {
        return Err(BinlogError::Decode {
            position: format!("offset {}", ev.header().log_pos()),
            message: "the ROTATE event is shorter than 8 bytes".into(),
        });
    }
    let pos = u64::from_le_bytes(data[..8].try_into().unwrap_or_default());
    let mut name = &data[8..];
    if name.len() >= 4 {
        let (body, crc) = data.split_at(data.len() - 4);
        let header = ev.header();
        let mut bytes = Vec::with_capacity(19 + body.len());
        bytes.extend_from_slice(&header.timestamp().to_le_bytes());
        bytes.push(header.event_type_raw());
        bytes.extend_from_slice(&header.server_id().to_le_bytes());
        bytes.extend_from_slice(&header.event_size().to_le_bytes());
        bytes.extend_from_slice(&header.log_pos().to_le_bytes());
        bytes.extend_from_slice(&header.flags_raw().to_le_bytes());
        bytes.extend_from_slice(body);
        if crc32(&bytes).to_le_bytes() == crc {
            name = &body[8..];
        }
    }
    Ok((pos, String::from_utf8_lossy(name).into_owned()))
}

/// CRC-32 (IEEE), as binlog checksums use; only needed for the rare artificial ROTATE.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// GTID_LIST body: count (low 28 bits), then per entry domain u32, server u32, seq u64.
fn parse_gtid_list_event(data: &[u8]) -> Option<Vec<Gtid>> {
    let count = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) & 0x0fff_ffff;
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        let e = data.get(4 + i * 16..4 + (i + 1) * 16)?;
        out.push(Gtid {
            domain: u32::from_le_bytes(e[0..4].try_into().ok()?),
            server: u32::from_le_bytes(e[4..8].try_into().ok()?),
            seq: u64::from_le_bytes(e[8..16].try_into().ok()?),
        });
    }
    Some(out)
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Parses one raw event (header, body, checksum) the way the stream does, with mysql_common's
/// panic on a truncated body contained. Used for binlog bytes read outside a stream, and by tests.
pub fn parse_event(fde: &FormatDescriptionEvent<'_>, bytes: &[u8]) -> Result<Event, BinlogError> {
    match catch_unwind(AssertUnwindSafe(|| Event::read(fde, bytes))) {
        Ok(Ok(ev)) => Ok(ev),
        Ok(Err(e)) => Err(BinlogError::Decode {
            position: "a raw event".into(),
            message: e.to_string(),
        }),
        Err(panic) => Err(BinlogError::Corrupt {
            position: "a raw event".into(),
            message: panic_message(&panic),
        }),
    }
}

/// Follows the binlog of one server.
pub struct BinlogReader {
    stream: Option<BinlogStream>,
    decoder: EventDecoder,
    config: ReaderConfig,
    opts: Opts,
    is_mariadb: bool,
    last_data: Instant,
    last_packet: Instant,
}

impl BinlogReader {
    /// Connects, checks the server (unless disabled), and starts streaming.
    pub async fn connect(opts: Opts, config: ReaderConfig) -> Result<BinlogReader, BinlogError> {
        let address = format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port());
        let mut conn = Conn::new(opts.clone())
            .await
            .map_err(|e| BinlogError::mysql(&format!("connecting to {address}"), e))?;
        let settings = read_server_settings(&mut conn, &address).await?;
        if config.check_settings {
            settings.check()?;
        }
        if config.server_id == 0 || config.server_id == settings.server_id {
            return Err(BinlogError::Config(format!(
                "mee's binlog server id {} is {}; choose another `server_id` for mee that no \
                 replica of {address} uses",
                config.server_id,
                if config.server_id == 0 {
                    "0, which the server refuses".to_string()
                } else {
                    format!("the server's own id at {address}")
                }
            )));
        }
        if settings.is_mariadb {
            // Capability 4 makes the server send GTID, GTID_LIST and BINLOG_CHECKPOINT events
            // as they are (else they arrive as dummy queries) and allows GTID starts.
            conn.query_drop("SET @mariadb_slave_capability=4")
                .await
                .map_err(|e| BinlogError::mysql("announcing GTID support", e))?;
        }
        if let Some(period) = config.heartbeat {
            conn.query_drop(format!(
                "SET @master_heartbeat_period={}",
                period.as_nanos()
            ))
            .await
            .map_err(|e| BinlogError::mysql("setting the heartbeat period", e))?;
        }

        let (start, resume_at) = match &config.start {
            StartAt::Position(at) => {
                // Before an XA transaction still pending at `at`, when there is one.
                let mut p = at.stream_start();
                if p.gtid.is_none() && settings.is_mariadb {
                    // Seed the GTID state so that commit positions carry a GTID list too.
                    let gtid: Option<Option<String>> = conn
                        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (p.file.clone(), p.pos))
                        .await
                        .map_err(|e| {
                            BinlogError::mysql("finding the GTID of the start position", e)
                        })?;
                    if let Some(Some(g)) = gtid {
                        p.gtid = Some(g);
                    }
                }
                (p, Some(at.clone()))
            }
            StartAt::Gtid(list) => {
                if !settings.is_mariadb {
                    return Err(BinlogError::Config(format!(
                        "{address} is not MariaDB, and mee resumes by GTID only on MariaDB: \
                         start from a file position instead"
                    )));
                }
                let parsed =
                    parse_gtid_list(list).map_err(|e| BinlogError::Config(e.to_string()))?;
                let state = GtidState::from_list(&parsed).render();
                // The list was just validated as numbers and dashes, so it is safe in SQL text.
                conn.query_drop(format!(
                    "SET @slave_connect_state='{state}', @slave_gtid_strict_mode=0, \
                     @slave_gtid_ignore_duplicates=0"
                ))
                .await
                .map_err(|e| BinlogError::mysql("setting the GTID start position", e))?;
                let p = BinlogPosition {
                    file: String::new(),
                    pos: 4,
                    gtid: Some(state),
                    resume_from: None,
                };
                (p, None)
            }
        };

        let mut request = BinlogStreamRequest::new(config.server_id)
            .with_filename(start.file.as_bytes())
            .with_pos(start.pos);
        if !config.blocking {
            request = request.with_non_blocking();
        }
        let stream = conn.get_binlog_stream(request).await.map_err(|e| {
            BinlogError::mysql(&format!("starting the binlog stream at {start}"), e)
        })?;
        tracing::info!(server = %address, start = %start, server_id = config.server_id, "binlog stream started");
        let mut decoder = EventDecoder::new(start.clone(), config.filter.clone())
            .with_max_held_xa_rows(config.max_held_xa_rows);
        if let Some(at) = &resume_at {
            decoder = decoder.resuming_at(at);
        }
        let now = Instant::now();
        Ok(BinlogReader {
            stream: Some(stream),
            decoder,
            config,
            opts,
            is_mariadb: settings.is_mariadb,
            last_data: now,
            last_packet: now,
        })
    }

    /// The last safe resume point (the end of the last transaction yielded).
    pub fn position(&self) -> &BinlogPosition {
        self.decoder.position()
    }

    /// The next event; `Ok(None)` when a non-blocking read reached the end of the binlog.
    /// Cancel-safe: dropping the future between events loses nothing.
    pub async fn next(&mut self) -> Result<Option<BinlogEvent>, BinlogError> {
        loop {
            if let Some(event) = self.decoder.next_queued() {
                return Ok(Some(event));
            }
            // Kept in the decoder until resolved, so a cancelled lookup is redone.
            if let Some(m) = self.decoder.missing_xa() {
                let (xid, start, at) = (m.xid.clone(), m.start.clone(), m.at.clone());
                let rows = self.read_xa(&xid, start, &at).await?;
                self.decoder.resolve_missing_xa(rows);
                continue;
            }
            let wait = self.wait_limit();
            let Some(stream) = self.stream.as_mut() else {
                return Ok(None);
            };
            let next = AssertUnwindSafe(stream.next()).catch_unwind();
            let item = match wait {
                Some(limit) => match tokio::time::timeout(limit, next).await {
                    Ok(item) => item,
                    Err(_) => {
                        if let Some(err) = self.stalled() {
                            return Err(err);
                        }
                        self.last_data = Instant::now();
                        return Ok(Some(BinlogEvent::Idle));
                    }
                },
                None => next.await,
            };
            let event = match item {
                Err(panic) => {
                    self.stream = None;
                    return Err(BinlogError::Corrupt {
                        position: format!("{} (the event after it)", self.decoder.where_()),
                        message: panic_message(&panic),
                    });
                }
                Ok(None) => {
                    self.stream = None;
                    return Ok(None);
                }
                Ok(Some(Err(e))) => {
                    self.stream = None;
                    return Err(BinlogError::mysql(
                        &format!("reading the binlog after {}", self.decoder.where_()),
                        e,
                    ));
                }
                Ok(Some(Ok(event))) => event,
            };
            self.last_packet = Instant::now();
            let type_code = event.header().event_type_raw();
            if type_code == EventType::HEARTBEAT_EVENT as u8 || type_code == 41 {
                continue;
            }
            self.last_data = self.last_packet;
            if let Some(out) = self.decoder.handle(&event)? {
                return Ok(Some(out));
            }
        }
    }

    /// Reads the rows of the prepared XA transaction `xid` again from the binlog, for its
    /// `XA COMMIT` at `at`: from `start` when known, else from the last `XA START` of that id
    /// before the commit, found with `SHOW BINLOG EVENTS` file by file backwards. A side stream
    /// reads just that transaction, with the reader's server id plus
    /// [`XA_LOOKUP_SERVER_ID_OFFSET`].
    async fn read_xa(
        &self,
        xid: &Xid,
        start: Option<BinlogPosition>,
        at: &str,
    ) -> Result<Vec<RowsEvent>, BinlogError> {
        let mut conn = Conn::new(self.opts.clone())
            .await
            .map_err(|e| BinlogError::mysql("connecting to read an XA transaction again", e))?;
        let start = match start {
            Some(s) => s,
            None => {
                let commit_pos = self.decoder.last_pos;
                find_xa_start(&mut conn, xid, &self.decoder.file, commit_pos, at).await?
            }
        };
        tracing::info!(xid = %xid, from = %start, commit = at, "reading a prepared XA transaction again");
        if self.is_mariadb {
            conn.query_drop("SET @mariadb_slave_capability=4")
                .await
                .map_err(|e| BinlogError::mysql("announcing GTID support", e))?;
        }
        let request = BinlogStreamRequest::new(
            self.config
                .server_id
                .wrapping_add(XA_LOOKUP_SERVER_ID_OFFSET),
        )
        .with_filename(start.file.as_bytes())
        .with_pos(start.pos)
        .with_non_blocking();
        let mut stream = conn
            .get_binlog_stream(request)
            .await
            .map_err(|e| BinlogError::mysql(&format!("starting a binlog stream at {start}"), e))?;
        let mut d = EventDecoder::new(start.clone(), self.config.filter.clone());
        let not_found = || {
            BinlogError::Unsupported(format!(
                "the XA COMMIT at {at} commits XA transaction {xid}, but its rows are not where                  the binlog should have them ({start}); rebuild the index with `mee update`"
            ))
        };
        let rows = loop {
            let item = AssertUnwindSafe(stream.next()).catch_unwind().await;
            let event = match item {
                Ok(Some(Ok(ev))) => ev,
                Ok(Some(Err(e))) => {
                    return Err(BinlogError::mysql(
                        &format!("reading XA transaction {xid} again from {start}"),
                        e,
                    ));
                }
                Ok(None) => return Err(not_found()),
                Err(panic) => {
                    return Err(BinlogError::Corrupt {
                        position: format!("{} (reading XA transaction {xid} again)", d.where_()),
                        message: panic_message(&panic),
                    });
                }
            };
            let type_code = event.header().event_type_raw();
            if type_code == EventType::HEARTBEAT_EVENT as u8 || type_code == 41 {
                continue;
            }
            d.handle(&event)?;
            while d.next_queued().is_some() {}
            if let Some(rows) = d.take_prepared(xid) {
                break rows;
            }
            // The first group ended without being that transaction.
            if d.last_end != start && d.xa_open.is_none() {
                return Err(not_found());
            }
        };
        if let Err(e) = stream.close().await {
            tracing::debug!(error = %e, "closing the XA look-up stream");
        }
        Ok(rows)
    }

    /// How long the next read may wait before an idle or stall report is due.
    fn wait_limit(&self) -> Option<Duration> {
        let idle = self
            .config
            .idle_timeout
            .map(|d| d.saturating_sub(self.last_data.elapsed()));
        let stall = self
            .config
            .heartbeat
            .filter(|_| self.config.blocking)
            .map(|p| (p * 3).saturating_sub(self.last_packet.elapsed()));
        match (idle, stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn stalled(&self) -> Option<BinlogError> {
        let period = self.config.heartbeat.filter(|_| self.config.blocking)?;
        let silent = self.last_packet.elapsed();
        (silent >= period * 3).then(|| {
            BinlogError::Stalled(format!(
                "the binlog stream sent nothing, not even a heartbeat, for {silent:?} after {}; \
                 the connection is probably lost and mee will reconnect from {}",
                self.decoder.where_(),
                self.decoder.position()
            ))
        })
    }

    /// Closes the stream's connection.
    pub async fn close(mut self) -> Result<(), BinlogError> {
        if let Some(stream) = self.stream.take() {
            stream
                .close()
                .await
                .map_err(|e| BinlogError::mysql("closing the binlog stream", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::binlog::BinlogVersion;

    /// Builds raw event bytes: the 19-byte header, the body, and optionally the CRC32 of both.
    fn raw_event(type_code: u8, flags: u16, log_pos: u32, body: &[u8], crc: bool) -> Vec<u8> {
        let size = 19 + body.len() + if crc { 4 } else { 0 };
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        bytes.push(type_code);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&(size as u32).to_le_bytes());
        bytes.extend_from_slice(&log_pos.to_le_bytes());
        bytes.extend_from_slice(&flags.to_le_bytes());
        bytes.extend_from_slice(body);
        if crc {
            let sum = crc32(&bytes);
            bytes.extend_from_slice(&sum.to_le_bytes());
        }
        bytes
    }

    fn rotate_body(pos: u64, name: &str) -> Vec<u8> {
        let mut body = pos.to_le_bytes().to_vec();
        body.extend_from_slice(name.as_bytes());
        body
    }

    fn fde() -> FormatDescriptionEvent<'static> {
        FormatDescriptionEvent::new(BinlogVersion::Version4)
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_artificial_rotate_names_the_file_without_its_glued_crc() {
        // Before the first FORMAT_DESCRIPTION the parser does not know events carry a CRC, so
        // the 4 checksum bytes stay at the end of the file name.
        let bytes = raw_event(
            4,
            LOG_EVENT_ARTIFICIAL_F,
            0,
            &rotate_body(4, "binlog.000007"),
            true,
        );
        let ev = parse_event(&fde(), &bytes).unwrap();
        assert_eq!(ev.data().len(), 8 + "binlog.000007".len() + 4);
        let mut d = EventDecoder::new(BinlogPosition::new("", 4), TableFilter::all());
        assert!(
            d.handle(&ev).unwrap().is_none(),
            "a fake rotate yields nothing"
        );
        assert_eq!(d.position().file, "binlog.000007");
        assert_eq!(d.where_(), "binlog.000007:4");

        // Without a checksum the name is kept whole.
        let bytes = raw_event(
            4,
            LOG_EVENT_ARTIFICIAL_F,
            0,
            &rotate_body(4, "binlog.000008"),
            false,
        );
        let ev = parse_event(&fde(), &bytes).unwrap();
        assert_eq!(parse_rotate(&ev).unwrap(), (4, "binlog.000008".to_string()));

        // A fake rotate does not move a known start position.
        let mut d = EventDecoder::new(
            BinlogPosition::new("binlog.000007", 1234),
            TableFilter::all(),
        );
        d.handle(&ev).unwrap();
        assert_eq!(d.position(), &BinlogPosition::new("binlog.000007", 1234));
    }

    #[test]
    fn a_real_rotate_moves_the_resume_point_to_the_next_file() {
        let bytes = raw_event(4, 0, 5000, &rotate_body(4, "binlog.000009"), false);
        let ev = parse_event(&fde(), &bytes).unwrap();
        let mut d = EventDecoder::new(
            BinlogPosition::new("binlog.000008", 4).with_gtid("0-1-5"),
            TableFilter::all(),
        );
        match d.handle(&ev).unwrap() {
            Some(BinlogEvent::Rotate {
                next_file,
                position,
            }) => {
                assert_eq!(next_file, "binlog.000009");
                assert_eq!(
                    position,
                    BinlogPosition::new("binlog.000009", 4).with_gtid("0-1-5")
                );
            }
            other => panic!("expected a Rotate, got {other:?}"),
        }
    }

    #[test]
    fn gtid_and_xid_events_make_a_commit_with_the_gtid_list() {
        let mut d = EventDecoder::new(
            BinlogPosition::new("binlog.000002", 4).with_gtid("0-1-5,1-2-3"),
            TableFilter::all(),
        );
        let mut gtid = 6u64.to_le_bytes().to_vec();
        gtid.extend_from_slice(&0u32.to_le_bytes());
        gtid.push(0);
        let ev = parse_event(&fde(), &raw_event(162, 0, 300, &gtid, false)).unwrap();
        assert!(d.handle(&ev).unwrap().is_none());
        let ev = parse_event(&fde(), &raw_event(16, 0, 400, &9u64.to_le_bytes(), false)).unwrap();
        match d.handle(&ev).unwrap() {
            Some(BinlogEvent::Commit {
                position,
                timestamp,
            }) => {
                assert_eq!(position.to_string(), "binlog.000002:400@0-1-6,1-2-3");
                assert_eq!(timestamp, 1_700_000_000);
            }
            other => panic!("expected a Commit, got {other:?}"),
        }
    }

    #[test]
    fn xa_ids_read_from_events_and_statements_agree() {
        let xid = Xid {
            format: 7,
            gtrid: b"a:Z?".to_vec(),
            bqual: b"bq".to_vec(),
        };
        // As the server logs it, and as the binlog prints it.
        assert_eq!(xid.to_string(), "X'613a5a3f',X'6271',7");
        assert_eq!(
            Xid::from_statement(" X'613a5a3f',X'6271',7"),
            Some(xid.clone())
        );
        assert_eq!(
            Xid::from_statement("x'613a5a3f' , X'6271' ,7 ONE PHASE"),
            Some(xid.clone())
        );
        assert_eq!(Xid::from_statement("'a:Z?','bq',7"), Some(xid.clone()));
        assert_eq!(
            Xid::from_statement("'x1'"),
            Some(Xid {
                format: 1,
                gtrid: b"x1".to_vec(),
                bqual: Vec::new()
            })
        );
        assert_eq!(Xid::from_statement("X'6'"), None);
        // GTID event: seq, domain, flags (with a commit id), then the id.
        let mut gtid = 18u64.to_le_bytes().to_vec();
        gtid.extend_from_slice(&0u32.to_le_bytes());
        gtid.push(FL_PREPARED_XA | FL_GROUP_COMMIT_ID);
        gtid.extend_from_slice(&99u64.to_le_bytes());
        gtid.extend_from_slice(&7u32.to_le_bytes());
        gtid.extend_from_slice(&[4, 2]);
        gtid.extend_from_slice(b"a:Z?bq");
        assert_eq!(Xid::from_gtid_event(&gtid), Some(xid.clone()));
        assert_eq!(Xid::from_gtid_event(&gtid[..gtid.len() - 1]), None);
        // XA_PREPARE event: one-phase, format, lengths as u32, the id.
        let mut prepare = vec![0u8];
        prepare.extend_from_slice(&7u32.to_le_bytes());
        prepare.extend_from_slice(&4u32.to_le_bytes());
        prepare.extend_from_slice(&2u32.to_le_bytes());
        prepare.extend_from_slice(b"a:Z?bq");
        assert_eq!(Xid::from_prepare_event(&prepare), Some(xid));
    }

    #[test]
    fn a_position_before_a_pending_xa_resumes_from_its_start() {
        let mut at = BinlogPosition::new("binlog.000003", 900).with_gtid("0-1-9");
        assert_eq!(at.stream_start(), at);
        let start = BinlogPosition::new("binlog.000002", 400).with_gtid("0-1-5");
        at.resume_from = Some(Box::new(start.clone()));
        assert_eq!(at.stream_start(), start);
        assert_eq!(
            at.version(),
            BinlogPosition::new("binlog.000003", 900).version()
        );
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(serde_json::from_str::<BinlogPosition>(&json).unwrap(), at);
        // A decoder resuming there yields nothing up to `at` and reports `at` meanwhile.
        let d = EventDecoder::new(at.stream_start(), TableFilter::all()).resuming_at(&at);
        assert_eq!(d.position(), &at);
        assert!(d.replaying(850), "binlog.000002:850 comes before `at`");
    }

    #[test]
    fn compressed_and_unknown_events_are_fatal_with_the_fix() {
        let mut d = EventDecoder::new(BinlogPosition::new("binlog.000002", 4), TableFilter::all());
        for type_code in [166u8, 169, 171] {
            let ev = parse_event(&fde(), &raw_event(type_code, 0, 900, &[1, 2, 3], false)).unwrap();
            let err = d.handle(&ev).unwrap_err().to_string();
            assert!(err.contains("SET GLOBAL log_bin_compress=OFF"), "{err}");
            assert!(err.contains("binlog.000002:900"), "{err}");
        }
        let ev = parse_event(&fde(), &raw_event(200, 0, 901, &[], false)).unwrap();
        assert!(matches!(d.handle(&ev), Err(BinlogError::Unsupported(_))));
        // Heartbeats and annotations are ignored.
        for type_code in [27u8, 160, 161] {
            let ev = parse_event(&fde(), &raw_event(type_code, 0, 902, &[0; 8], false)).unwrap();
            assert!(d.handle(&ev).unwrap().is_none());
        }
    }

    #[test]
    fn a_truncated_event_body_is_an_error_not_a_panic() {
        // The header promises 19 + 40 bytes, only 10 body bytes follow: mysql_common's reader
        // panics on this; the panic must come back as an error.
        let mut bytes = raw_event(19, 0, 500, &[0u8; 40], false);
        bytes.truncate(19 + 10);
        match parse_event(&fde(), &bytes) {
            Err(BinlogError::Corrupt { message, .. }) => assert!(!message.is_empty()),
            Err(other) => panic!("expected Corrupt, got {other}"),
            Ok(_) => panic!("a truncated event parsed"),
        }
    }

    #[test]
    fn rows_for_an_unknown_table_or_with_a_truncated_body_are_errors() {
        let mut d = EventDecoder::new(BinlogPosition::new("binlog.000002", 4), TableFilter::all());
        let body = [7, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 5];
        let ev = parse_event(&fde(), &raw_event(23, 0, 700, &body, false)).unwrap();
        let err = d.handle(&ev).unwrap_err().to_string();
        assert!(
            err.contains("TABLE_MAP was not seen") && err.contains("binlog.000002:700"),
            "{err}"
        );
        let ev = parse_event(&fde(), &raw_event(23, 0, 701, &body[..4], false)).unwrap();
        assert!(matches!(d.handle(&ev), Err(BinlogError::Decode { .. })));
    }
}
