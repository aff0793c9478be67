//! The catch-up of a switch-over: a second binlog reader brings a new generation from its
//! snapshot position up to the point where the follower started mirroring its writes into it.
//!
//! From then on the new generation has received every change: those before its snapshot from
//! the full update, those between the snapshot and the mirroring point from here, and later ones
//! from the follower's mirrored writes. Writes from here and from the mirror may reach a document
//! in any order; both rebuild it from current MySQL, and the external versions (binlog positions)
//! keep the newest.

use super::{RunError, RunOptions, Services, record_failures};
use crate::binlog::{BinlogEvent, BinlogPosition, BinlogReader, ReaderConfig, StartAt};
use crate::es::BulkWriter;
use crate::sync::{SyncTarget, apply_changes};

/// Added to the follower's server id for the catch-up reader: MySQL drops an older replica
/// connection when a second one registers with the same id.
pub const CATCH_UP_SERVER_ID_OFFSET: u32 = 1_000_000_000;

/// Applies the changes in `(from, until]` to `target` (its `write_to` is the new generation).
pub async fn catch_up(
    target: &SyncTarget<'_>,
    svc: &Services<'_>,
    options: &RunOptions,
    reader_config: ReaderConfig,
    from: BinlogPosition,
    until: BinlogPosition,
) -> Result<u64, RunError> {
    if from >= until {
        return Ok(0);
    }
    tracing::info!(index = %target.write_to, %from, %until, "catching up the new generation");
    let opts = svc
        .source
        .config()
        .opts()
        .map_err(crate::mysql::MysqlError::from)?;
    let config = ReaderConfig {
        server_id: options.server_id.wrapping_add(CATCH_UP_SERVER_ID_OFFSET),
        start: StartAt::Position(from),
        ..reader_config
    };
    let mut reader = BinlogReader::connect(opts, config).await?;
    let mut writer = BulkWriter::new(svc.es.clone(), options.bulk.clone());
    let mut session = svc.source.session().await?;
    let guard = crate::preflight::SchemaGuard::new(target.index, svc.source);
    let mut open = Vec::new();
    let mut committed = Vec::new();
    let mut committed_rows = 0usize;
    let mut rebuilt = 0u64;
    while let Some(event) = reader.next().await? {
        let at = match event {
            BinlogEvent::Rows(rows) => {
                open.push(rows);
                continue;
            }
            BinlogEvent::Commit { position, .. } => {
                committed_rows += open.iter().map(|e| e.rows.len()).sum::<usize>();
                committed.append(&mut open);
                position
            }
            _ => continue,
        };
        let done = at >= until;
        if done || committed_rows >= options.batch_rows {
            let applied =
                apply_changes(target, &mut session, &committed, &mut writer, at.version()).await?;
            record_failures(target, svc, options, &guard, &applied, &at).await?;
            rebuilt += applied.rebuilt as u64;
            committed.clear();
            committed_rows = 0;
        }
        if done {
            break;
        }
    }
    writer.flush().await;
    tracing::info!(index = %target.write_to, rebuilt, "new generation caught up");
    Ok(rebuilt)
}
