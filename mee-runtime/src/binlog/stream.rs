//! Following the binlog: [`BinlogReader`] connects as a replica, starts at a file position or a
//! MariaDB GTID position, and turns the event stream into [`BinlogEvent`]s.
//!
//! Positions only advance at transaction ends (XID, a COMMIT/ROLLBACK query of non-transactional
//! engines, or a standalone DDL), so every position the reader hands out is a safe resume point.
//!
//! The handling of raw events lives in [`EventDecoder`], which has no I/O, so that the tricky
//! cases (the artificial ROTATE, compressed events, truncated events) are unit-tested.

use super::BinlogError;
use super::decode::{RawRows, RowChange, RowKind, TablePlan};
use super::position::{BinlogPosition, Gtid, GtidState, parse_gtid_list};
use super::settings::read_server_settings;
use futures::{FutureExt, StreamExt};
use mysql_async::binlog::EventType;
use mysql_async::binlog::events::{Event, FormatDescriptionEvent, QueryEvent, TableMapEvent};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, Opts};
use std::collections::{HashMap, HashSet};
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
/// `LOG_EVENT_ARTIFICIAL_F`: the event was made up by the dump thread (fake ROTATE).
const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;

/// Tables seen in TABLE_MAP events: the raw event body (to reuse the plan when the same map
/// comes again, which it does for every transaction) and the plan, `None` when filtered out.
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
            committed: start,
            gtids,
            current_gtid: None,
            in_transaction: false,
            tables: HashMap::new(),
            filter,
        }
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
                    self.committed = BinlogPosition {
                        file: name.clone(),
                        pos,
                        gtid: self.gtids.as_ref().map(GtidState::render),
                    };
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
            // XID, and XA PREPARE (the end of an XA transaction's first phase).
            16 | 38 => Ok(Some(self.commit(ev))),
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
        // Table ids grow with every table definition the server loads; a long-running stream
        // would keep stale entries forever, so start over now and then (maps come again with
        // every transaction).
        if self.tables.len() >= 4096 {
            self.tables.clear();
        }
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
        let rows = plan
            .decode_rows(&raw)
            .map_err(|e| self.decode_err(position(), e))?;
        debug_assert_eq!(raw.kind, kind);
        Ok(Some(BinlogEvent::Rows(RowsEvent {
            plan: Arc::clone(plan),
            kind,
            rows,
            timestamp: header.timestamp(),
            log_pos: u64::from(header.log_pos()),
        })))
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
            return Ok(Some(self.commit(ev)));
        }
        if word("SAVEPOINT") || word("ROLLBACK TO") || word("RELEASE SAVEPOINT") {
            return Ok(None);
        }
        if word("XA") {
            // `XA COMMIT`/`XA ROLLBACK` of a prepared transaction form their own group.
            if !self.in_transaction {
                self.commit(ev);
            }
            return Ok(None);
        }
        let timestamp = ev.header().timestamp();
        if !self.in_transaction {
            self.advance(ev);
        }
        if !self.filter.may_concern(&schema, &query) {
            return Ok(None);
        }
        Ok(Some(BinlogEvent::Ddl {
            schema,
            query,
            position: self.committed.clone(),
            timestamp,
        }))
    }

    /// Ends the current transaction at this event and yields its resume point.
    fn commit(&mut self, ev: &Event) -> BinlogEvent {
        self.advance(ev);
        BinlogEvent::Commit {
            position: self.committed.clone(),
            timestamp: ev.header().timestamp(),
        }
    }

    fn advance(&mut self, ev: &Event) {
        if let Some(g) = self.current_gtid.take()
            && let Some(state) = &mut self.gtids
        {
            state.apply(g);
        }
        self.in_transaction = false;
        self.committed = BinlogPosition {
            file: self.file.clone(),
            pos: u64::from(ev.header().log_pos()),
            gtid: self.gtids.as_ref().map(GtidState::render),
        };
    }
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
    last_data: Instant,
    last_packet: Instant,
}

impl BinlogReader {
    /// Connects, checks the server (unless disabled), and starts streaming.
    pub async fn connect(opts: Opts, config: ReaderConfig) -> Result<BinlogReader, BinlogError> {
        let address = format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port());
        let mut conn = Conn::new(opts)
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

        let start = match &config.start {
            StartAt::Position(p) => {
                let mut p = p.clone();
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
                p
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
                BinlogPosition {
                    file: String::new(),
                    pos: 4,
                    gtid: Some(state),
                }
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
        let decoder = EventDecoder::new(start.clone(), config.filter.clone());
        let now = Instant::now();
        Ok(BinlogReader {
            stream: Some(stream),
            decoder,
            config,
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
