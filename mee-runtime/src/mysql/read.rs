//! Executing reads: [`Source`] (the connection pool), [`Session`] (one connection) and
//! [`Snapshot`] (one consistent-snapshot transaction and the binlog position it corresponds to).
//!
//! Every parameterised read uses the binary protocol (prepared statements, cached per
//! connection), and rows are converted one by one as they arrive: a result is never buffered as
//! driver rows and then again as values.
//!
//! ## Snapshot or pool
//!
//! A full update reads through one [`Snapshot`]: every statement sees the same point in time,
//! and the sync resumes from the binlog position of exactly that point. A snapshot is one
//! connection, so its statements run one after the other; that is why reads are batched (one
//! statement per dependent item and page, not per row).
//!
//! [`Source::fetch_concurrent`] runs many statements in parallel over pooled connections, for
//! the few reads that cannot be batched, and [`Session::fetch_each`] does the same for generated
//! code, which holds only a session (`executeSQL`, one statement per document): the session runs
//! statements itself and pooled connections of its source join in while work remains. Pooled
//! connections are not in the snapshot: each statement sees the data committed when it runs.
//! The sync engine can use them freely (it rebuilds documents from current data and versions
//! them by binlog position); a full update that uses them gives up the single point in time for
//! those reads, which is correct only because the sync, started from the snapshot position,
//! later rebuilds every document that a newer change touched.

use super::MysqlError;
use super::config::SourceConfig;
use super::convert::{RowPlan, to_param};
use super::sql::{Sql, Statement};
use crate::binlog::BinlogPosition;
use crate::value::Value;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Params, Pool};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The source database: configuration plus a connection pool. Cheap to share by reference;
/// creating it does no I/O (use [`Source::connect`] to fail early when the server is unreachable).
pub struct Source {
    config: Arc<SourceConfig>,
    opts: Opts,
    pool: Pool,
    server: Arc<str>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("server", &self.server)
            .field("databases", &self.config.databases)
            .finish()
    }
}

impl Source {
    /// A source with a lazy pool (no connection is made yet).
    pub fn new(config: SourceConfig) -> Result<Source, MysqlError> {
        let opts = config.opts()?;
        let server: Arc<str> = config.server().into();
        Ok(Source {
            pool: Pool::new(opts.clone()),
            opts,
            server,
            config: Arc::new(config),
        })
    }

    /// A source whose server answered: opens (and returns to the pool) one connection.
    pub async fn connect(config: SourceConfig) -> Result<Source, MysqlError> {
        let source = Source::new(config)?;
        drop(source.session().await?);
        Ok(source)
    }

    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    /// `user@host:port`, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The physical name of a logical database.
    pub fn physical<'a>(&'a self, logical: &'a str) -> &'a str {
        self.config.physical(logical)
    }

    /// Resolves a template against this source's database map (done once per statement at
    /// start-up; keep the result).
    pub fn statement(&self, sql: &Sql) -> Statement {
        sql.resolve(
            self.config.physical(sql.database),
            self.config.max_keys_per_query,
        )
    }

    /// A pooled connection.
    pub async fn session(&self) -> Result<Session, MysqlError> {
        let conn = with_connect_timeout(
            &self.server,
            self.config.connect_timeout,
            self.pool.get_conn(),
        )
        .await?;
        Ok(Session {
            conn,
            server: self.server.clone(),
            snapshot: false,
            side: Some(self.side_connections()),
        })
    }

    /// What a session of this source needs to run statements on pooled connections too.
    fn side_connections(&self) -> SideConnections {
        SideConnections {
            pool: self.pool.clone(),
            limit: self.config.pool_max.max(1),
            default: self.config.concurrent_reads.max(1),
        }
    }

    /// A new connection outside the pool (closed when dropped).
    async fn dedicated(&self) -> Result<Conn, MysqlError> {
        with_connect_timeout(
            &self.server,
            self.config.connect_timeout,
            Conn::new(self.opts.clone()),
        )
        .await
    }

    /// Opens a consistent snapshot; see [`Snapshot::open`].
    pub async fn snapshot(&self) -> Result<(Snapshot, BinlogPosition), MysqlError> {
        Snapshot::open(self).await
    }

    /// Runs `sql` once per parameter list, at most `concurrency` statements at a time, each
    /// worker on its own pooled connection; returns each statement's rows in input order.
    ///
    /// For reads that cannot be batched into one statement. These reads do not see a snapshot:
    /// see the module documentation for what that means for a full update.
    pub async fn fetch_concurrent(
        &self,
        sql: &str,
        params: &[Vec<Value>],
        concurrency: usize,
    ) -> Result<Vec<Vec<Vec<Value>>>, MysqlError> {
        let workers = concurrency
            .clamp(1, self.config.pool_max.max(1))
            .min(params.len());
        let next = AtomicUsize::new(0);
        let work = (0..workers).map(|_| async {
            let mut session = self.session().await?;
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = params.get(i) else { break };
                done.push((i, session.fetch(sql, p).await?));
            }
            Ok::<_, MysqlError>(done)
        });
        let mut out: Vec<Vec<Vec<Value>>> = vec![Vec::new(); params.len()];
        for (i, rows) in futures::future::try_join_all(work)
            .await?
            .into_iter()
            .flatten()
        {
            out[i] = rows;
        }
        Ok(out)
    }

    /// Closes the pool's connections.
    pub async fn disconnect(self) -> Result<(), MysqlError> {
        let server = self.server.to_string();
        self.pool
            .disconnect()
            .await
            .map_err(|source| MysqlError::Query {
                server,
                context: "closing the connection pool".to_string(),
                source,
            })
    }
}

/// Waits for a connection with a deadline; failures become one sentence naming the server.
async fn with_connect_timeout<F>(
    server: &str,
    timeout: Duration,
    connect: F,
) -> Result<Conn, MysqlError>
where
    F: std::future::Future<Output = mysql_async::Result<Conn>>,
{
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(connect_error(server, &e)),
        Err(_) => Err(MysqlError::Connect {
            server: server.to_string(),
            reason: format!("no connection within {timeout:?}"),
            hint: "check that the server is running and reachable and has free connections",
        }),
    }
}

/// The connection failure as one sentence with what to check.
pub(crate) fn connect_error(server: &str, e: &mysql_async::Error) -> MysqlError {
    let hint = match e {
        mysql_async::Error::Server(se) if se.code == 1045 => {
            "check the user and password in the MySQL URL (--mysql or MEE_MYSQL_URL)"
        }
        mysql_async::Error::Server(se) if se.code == 1044 || se.code == 1049 => {
            "check the database name and the account's privileges"
        }
        mysql_async::Error::Server(se) if se.code == 1040 || se.code == 1203 => {
            "the server has too many connections; lower mee's pool size or raise max_connections"
        }
        mysql_async::Error::Io(_) => {
            "check that the server is running and that the host and port in the MySQL URL are right"
        }
        _ => "check the server address, the user and the password in the MySQL URL",
    };
    MysqlError::Connect {
        server: server.to_string(),
        reason: e.to_string(),
        hint,
    }
}

/// One connection: pooled ([`Source::session`]) or the snapshot transaction's
/// ([`Snapshot`] dereferences to its session). Statements may read any database of the server
/// (statements name their databases), so one session serves every logical database.
///
/// A session made by a [`Source`] may also borrow pooled connections of that source for
/// [`Session::fetch_each`]; [`Session::without_side_connections`] keeps it to its own.
pub struct Session {
    conn: Conn,
    server: Arc<str>,
    snapshot: bool,
    side: Option<SideConnections>,
}

/// The pool a session may borrow connections from for [`Session::fetch_each`].
#[derive(Clone)]
struct SideConnections {
    pool: Pool,
    /// At most this many statements at once, the session's own included (the pool's size).
    limit: usize,
    /// How many by default ([`SourceConfig::concurrent_reads`]).
    default: usize,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("snapshot", &self.snapshot)
            .field("side_connections", &self.side.as_ref().map(|s| s.limit))
            .finish()
    }
}

/// The shared work list of [`Session::fetch_each`]: workers claim parameter lists by index.
struct WorkQueue {
    len: usize,
    next: AtomicUsize,
    stopped: AtomicBool,
    /// Becomes true once every index is claimed (or the work stopped): a worker still waiting
    /// for a connection then has nothing to do and gives up instead of holding a pool slot.
    claimed_all: watch::Sender<bool>,
}

impl WorkQueue {
    fn new(len: usize) -> WorkQueue {
        WorkQueue {
            len,
            next: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            claimed_all: watch::Sender::new(len == 0),
        }
    }

    fn claim(&self) -> Option<usize> {
        if self.stopped.load(Ordering::Relaxed) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i + 1 >= self.len {
            self.claimed_all.send_replace(true);
        }
        (i < self.len).then_some(i)
    }

    /// After an error: the others finish the statement they run and claim nothing more, so no
    /// statement is abandoned half-read on its connection.
    fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.claimed_all.send_replace(true);
    }

    async fn all_claimed(&self) {
        let mut rx = self.claimed_all.subscribe();
        // The sender lives as long as the queue, so this only ends when the value turns true.
        let _ = rx.wait_for(|all| *all).await;
    }
}

/// One worker of [`Session::fetch_each`]: claims parameter lists until none is left, switching
/// the connection to the database before its first statement.
async fn drain(
    session: &mut Session,
    queue: &WorkQueue,
    use_db: &str,
    sql: &str,
    params: &[Vec<Value>],
) -> Result<Vec<(usize, Vec<Vec<Value>>)>, MysqlError> {
    let mut done = Vec::new();
    let mut in_database = false;
    while let Some(i) = queue.claim() {
        let step = async {
            if !in_database {
                if let Err(e) = session.conn.query_drop(use_db).await {
                    return Err(session.query_error(use_db, e));
                }
                in_database = true;
            }
            session.fetch(sql, &params[i]).await
        };
        match step.await {
            Ok(rows) => done.push((i, rows)),
            Err(e) => {
                queue.stop();
                return Err(e);
            }
        }
    }
    Ok(done)
}

fn params_of(params: &[Value]) -> Params {
    if params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(params.iter().map(to_param).collect())
    }
}

/// The statement, shortened for error messages.
fn brief(sql: &str) -> String {
    const MAX: usize = 160;
    if sql.len() <= MAX {
        return sql.to_string();
    }
    let mut end = MAX;
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &sql[..end])
}

impl Session {
    /// Whether this session reads inside a consistent snapshot.
    pub fn is_snapshot(&self) -> bool {
        self.snapshot
    }

    /// The driver connection, for statements this module does not cover.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// This session without pooled connections: [`Session::fetch_each`] then runs every
    /// statement on this connection, one after the other (inside the snapshot, for a snapshot).
    pub fn without_side_connections(mut self) -> Session {
        self.side = None;
        self
    }

    /// How many statements [`Session::fetch_each`] should run at once by default: the source's
    /// [`SourceConfig::concurrent_reads`], or 1 for a session without pooled connections.
    pub fn read_concurrency(&self) -> usize {
        self.side.as_ref().map_or(1, |s| s.default)
    }

    /// Runs `sql` once per parameter list with `database` as the default database (the
    /// statement may name its tables unqualified), and returns each statement's rows in input
    /// order.
    ///
    /// At most `concurrency` statements run at once (bounded by the pool's size): one on this
    /// session and the others on pooled connections of the source that made it, each of which
    /// joins only while unclaimed work remains, so a busy pool slows the call down but never
    /// blocks it. A session without pooled connections runs them one after the other. On a
    /// snapshot, the statements this session runs read the snapshot and the others read current
    /// data (see the module documentation for why a full update may mix them). The default
    /// database of every connection used stays `database` afterwards.
    ///
    /// The first failing statement fails the call; the other workers finish their current
    /// statement and stop.
    pub async fn fetch_each(
        &mut self,
        database: &str,
        sql: &str,
        params: &[Vec<Value>],
        concurrency: usize,
    ) -> Result<Vec<Vec<Vec<Value>>>, MysqlError> {
        let mut out: Vec<Vec<Vec<Value>>> = vec![Vec::new(); params.len()];
        if params.is_empty() {
            return Ok(out);
        }
        let use_db = format!("USE `{}`", database.replace('`', "``"));
        // A prepared statement stays bound to the tables of the database that was the default
        // when it was prepared, and connections cache prepared statements by their text: naming
        // the database in a comment gives every database its own cache entry.
        let sql = format!("/* {} */ {sql}", database.replace("*/", "* /"));
        let extras = match &self.side {
            Some(side) => concurrency.clamp(1, side.limit).min(params.len()) - 1,
            None => 0,
        };
        let side = self.side.clone();
        let server = self.server.clone();
        let queue = WorkQueue::new(params.len());
        let (queue, use_db, sql) = (&queue, use_db.as_str(), sql.as_str());
        let helpers = (0..extras).map(|_| {
            let side = side.clone();
            let server = server.clone();
            async move {
                let Some(side) = side else {
                    return Ok(Vec::new());
                };
                let conn = tokio::select! {
                    biased;
                    () = queue.all_claimed() => return Ok(Vec::new()),
                    conn = side.pool.get_conn() => match conn {
                        Ok(conn) => conn,
                        Err(e) => {
                            // The session's own worker still does the work; a helper is only
                            // an extra, so a full server or pool costs speed, not the read.
                            tracing::debug!(error = %e, "no pooled connection for a concurrent read");
                            return Ok(Vec::new());
                        }
                    },
                };
                let mut helper = Session {
                    conn,
                    server,
                    snapshot: false,
                    side: None,
                };
                drain(&mut helper, queue, use_db, sql, params).await
            }
        });
        let own = drain(self, queue, use_db, sql, params);
        let (own, helpers) = futures::future::join(own, futures::future::join_all(helpers)).await;
        for done in std::iter::once(own).chain(helpers) {
            for (i, rows) in done? {
                out[i] = rows;
            }
        }
        Ok(out)
    }

    fn query_error(&self, sql: &str, source: mysql_async::Error) -> MysqlError {
        MysqlError::Query {
            server: self.server.to_string(),
            context: format!("running `{}`", brief(sql)),
            source,
        }
    }

    /// Runs a prepared statement with `params` and calls `on_row` with each row's values in
    /// SELECT order, as rows arrive. The first error of `on_row` is returned (the rest of the
    /// result is read and discarded, so the session stays usable).
    pub async fn for_each<E, F>(
        &mut self,
        sql: &str,
        params: &[Value],
        mut on_row: F,
    ) -> Result<(), E>
    where
        E: From<MysqlError>,
        F: FnMut(Vec<Value>) -> Result<(), E>,
    {
        self.run(sql, params_of(params), &mut on_row).await
    }

    async fn run<E, F>(&mut self, sql: &str, params: Params, on_row: &mut F) -> Result<(), E>
    where
        E: From<MysqlError>,
        F: FnMut(Vec<Value>) -> Result<(), E>,
    {
        let mut result = match self.conn.exec_iter(sql, params).await {
            Ok(r) => r,
            Err(e) => return Err(self.query_error(sql, e).into()),
        };
        let plan = RowPlan::new(result.columns_ref());
        let mut failed: Option<E> = None;
        let read = result
            .for_each(|row| {
                if failed.is_some() {
                    return;
                }
                match plan.convert(row) {
                    Ok(values) => {
                        if let Err(e) = on_row(values) {
                            failed = Some(e);
                        }
                    }
                    Err(message) => {
                        failed = Some(
                            MysqlError::Result {
                                context: format!("reading `{}`", brief(sql)),
                                message,
                            }
                            .into(),
                        );
                    }
                }
            })
            .await;
        let dropped = result.drop_result().await;
        if let Some(e) = failed {
            return Err(e);
        }
        if let Err(e) = read.and(dropped) {
            return Err(MysqlError::Query {
                server: self.server.to_string(),
                context: format!("reading `{}`", brief(sql)),
                source: e,
            }
            .into());
        }
        Ok(())
    }

    /// Runs a prepared statement and collects its rows.
    pub async fn fetch(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<Vec<Vec<Value>>, MysqlError> {
        let mut rows = Vec::new();
        self.for_each(sql, params, |r| {
            rows.push(r);
            Ok::<(), MysqlError>(())
        })
        .await?;
        Ok(rows)
    }

    /// Runs a statement through the text protocol (for statements that cannot be prepared,
    /// such as some `SHOW` statements); values are converted the same way, except that the
    /// server prints `FLOAT` with only 6 significant digits in text results, so document data
    /// must be read with the prepared-statement methods.
    pub async fn fetch_text(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, MysqlError> {
        let mut result = match self.conn.query_iter(sql).await {
            Ok(r) => r,
            Err(e) => return Err(self.query_error(sql, e)),
        };
        let plan = RowPlan::new(result.columns_ref());
        let mut rows = Vec::new();
        let mut failed = None;
        let read = result
            .for_each(|row| match plan.convert(row) {
                Ok(v) => rows.push(v),
                Err(m) => {
                    failed.get_or_insert(m);
                }
            })
            .await;
        let dropped = result.drop_result().await;
        if let Err(e) = read.and(dropped) {
            return Err(self.query_error(sql, e));
        }
        if let Some(message) = failed {
            return Err(MysqlError::Result {
                context: format!("reading `{}`", brief(sql)),
                message,
            });
        }
        Ok(rows)
    }

    /// A batched look-up: runs `stmt` once per chunk of `keys` (flat, `key_arity` values per
    /// key), binding `before`, the chunk's keys and `after`, and calls `on_row` for every row.
    /// No key runs no statement. Duplicate keys are harmless but cost bandwidth: callers should
    /// deduplicate where it is cheap.
    pub async fn for_each_keyed<E, F>(
        &mut self,
        stmt: &Statement,
        before: &[Value],
        keys: &[Value],
        after: &[Value],
        mut on_row: F,
    ) -> Result<(), E>
    where
        E: From<MysqlError>,
        F: FnMut(Vec<Value>) -> Result<(), E>,
    {
        let arity = stmt.key_arity();
        if arity == 0 || !keys.len().is_multiple_of(arity) {
            return Err(MysqlError::Result {
                context: format!("binding keys to `{}`", brief(stmt.text())),
                message: format!(
                    "{} key values do not make whole keys of {arity} columns",
                    keys.len()
                ),
            }
            .into());
        }
        for batch in stmt.batches(keys) {
            let params = Params::Positional(batch.params(before, after));
            self.run(batch.sql, params, &mut on_row).await?;
        }
        Ok(())
    }

    /// A batched look-up without other parameters, collecting the rows.
    pub async fn fetch_keyed(
        &mut self,
        stmt: &Statement,
        keys: &[Value],
    ) -> Result<Vec<Vec<Value>>, MysqlError> {
        let mut rows = Vec::new();
        self.for_each_keyed(stmt, &[], keys, &[], |r| {
            rows.push(r);
            Ok::<(), MysqlError>(())
        })
        .await?;
        Ok(rows)
    }
}

/// One `START TRANSACTION WITH CONSISTENT SNAPSHOT` transaction on a connection of its own, and
/// the binlog position it corresponds to. Dereferences to its [`Session`].
///
/// The connection is outside the pool, so a snapshot that is dropped without
/// [`Snapshot::finish`] closes its connection instead of leaking an open transaction into the
/// pool.
#[derive(Debug)]
pub struct Snapshot {
    session: Session,
    position: BinlogPosition,
}

impl Snapshot {
    /// Opens a read-only REPEATABLE READ transaction with a consistent snapshot and reads the
    /// binlog position of that snapshot (MariaDB's `binlog_snapshot_file` and
    /// `binlog_snapshot_position`, which the server takes together with the snapshot). The GTID
    /// position of the same point is `BINLOG_GTID_POS(file, position)`: a function of the
    /// position, so it is as consistent as the position; it is left out (with a warning) when
    /// the server cannot compute it.
    ///
    /// Reading the binlog from the returned position yields exactly the transactions that
    /// committed after the snapshot.
    pub async fn open(source: &Source) -> Result<(Snapshot, BinlogPosition), MysqlError> {
        let conn = source.dedicated().await?;
        let mut session = Session {
            conn,
            server: source.server.clone(),
            snapshot: true,
            side: Some(source.side_connections()),
        };
        for sql in [
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        ] {
            if let Err(e) = session.conn.query_drop(sql).await {
                return Err(session.query_error(sql, e));
            }
        }
        let status = session
            .fetch_text("SHOW STATUS LIKE 'binlog_snapshot_%'")
            .await?;
        let (file, pos) = match snapshot_status(&status) {
            (Some(f), Some(p)) if !f.is_empty() => (f, p),
            (Some(_), Some(_)) => {
                return Err(MysqlError::Unsupported(format!(
                    "the server at {} reports no binlog file for the snapshot: turn the binlog on \
                     (log_bin) so that the sync can resume from a full update",
                    source.server
                )));
            }
            _ => {
                return Err(MysqlError::Unsupported(format!(
                    "the server at {} does not report `binlog_snapshot_file`/`binlog_snapshot_position`: \
                     a full update needs MariaDB 10.0 or later to know where its snapshot lies in the binlog",
                    source.server
                )));
            }
        };
        let mut position = BinlogPosition::new(file, pos);
        let gtid = session
            .fetch(
                "SELECT BINLOG_GTID_POS(?, ?)",
                &[
                    Value::Text(position.file.clone()),
                    Value::from_unsigned(position.pos),
                ],
            )
            .await;
        match gtid {
            Ok(rows) => match rows.first().and_then(|r| r.first()).and_then(Value::as_str) {
                Some(g) => position = position.with_gtid(g),
                None => tracing::warn!(
                    %position,
                    "the server gave no GTID position for the snapshot; resuming will use the file position"
                ),
            },
            Err(e) => tracing::warn!(
                %position,
                error = %e,
                "cannot read the GTID position of the snapshot; resuming will use the file position"
            ),
        }
        tracing::debug!(%position, server = %source.server, "opened a consistent snapshot");
        Ok((
            Snapshot {
                session,
                position: position.clone(),
            },
            position,
        ))
    }

    /// The binlog position of the snapshot.
    pub fn position(&self) -> &BinlogPosition {
        &self.position
    }

    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Ends the transaction and closes the connection.
    pub async fn finish(mut self) -> Result<(), MysqlError> {
        if let Err(e) = self.session.conn.query_drop("COMMIT").await {
            return Err(self.session.query_error("COMMIT", e));
        }
        let server = self.session.server.to_string();
        self.session
            .conn
            .disconnect()
            .await
            .map_err(|source| MysqlError::Query {
                server,
                context: "closing the snapshot connection".to_string(),
                source,
            })
    }
}

impl std::ops::Deref for Snapshot {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

impl std::ops::DerefMut for Snapshot {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.session
    }
}

/// The `binlog_snapshot_file` and `binlog_snapshot_position` of `SHOW STATUS LIKE
/// 'binlog_snapshot_%'` rows: where the binlog stood when the current consistent snapshot began.
pub(crate) fn snapshot_status(rows: &[Vec<Value>]) -> (Option<String>, Option<u64>) {
    let (mut file, mut pos) = (None, None);
    for row in rows {
        match (row.first().and_then(Value::as_str), row.get(1)) {
            (Some(name), Some(v)) if name.eq_ignore_ascii_case("binlog_snapshot_file") => {
                file = v.as_str().map(str::to_string);
            }
            (Some(name), Some(v)) if name.eq_ignore_ascii_case("binlog_snapshot_position") => {
                pos = v.as_str().and_then(|s| s.parse::<u64>().ok());
            }
            _ => {}
        }
    }
    (file, pos)
}
