//! Binlog positions: where a transaction ends, how to resume there, and the external version
//! Elasticsearch receives for writes made at that point.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A point in the binlog: a file and a byte offset in it, plus (on MariaDB) the GTID position
/// that names the same point independently of file names.
///
/// The reader only hands out positions that end a transaction (the end of its XID event, of its
/// COMMIT query, or of a standalone DDL), so every `BinlogPosition` it yields is a safe place to
/// resume from.
///
/// Text form: `binlog.000042:1234`, or `binlog.000042:1234@0-1-55,1-2-7` with the GTID list.
/// The plain form is also what Mee's position files contain, so they parse unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BinlogPosition {
    pub file: String,
    pub pos: u64,
    /// MariaDB GTID list (`domain-server-seq`, one per domain, comma separated), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// Where a reader resuming at this position must start reading: the start of the oldest XA
    /// transaction that was prepared before this position and not yet committed or rolled back
    /// here (its rows are in the binlog before this position, its `XA COMMIT` after it). `None`
    /// when nothing is pending: the position itself. The reader re-reads from there, keeps the
    /// prepared transactions' rows, and yields nothing else up to this position again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_from: Option<Box<BinlogPosition>>,
}

/// Why a position or GTID list did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid binlog position `{input}`: {reason}")]
pub struct PositionParseError {
    input: String,
    reason: &'static str,
}

impl PositionParseError {
    fn new(input: &str, reason: &'static str) -> Self {
        PositionParseError {
            input: input.to_string(),
            reason,
        }
    }
}

impl BinlogPosition {
    pub fn new(file: impl Into<String>, pos: u64) -> Self {
        BinlogPosition {
            file: file.into(),
            pos,
            gtid: None,
            resume_from: None,
        }
    }

    /// Where a reader resuming here starts streaming ([`BinlogPosition::resume_from`], or this
    /// position).
    pub fn stream_start(&self) -> BinlogPosition {
        match &self.resume_from {
            Some(r) => r.as_ref().clone().without_resume(),
            None => self.clone(),
        }
    }

    /// This position without a resume point of its own.
    pub fn without_resume(mut self) -> Self {
        self.resume_from = None;
        self
    }

    pub fn with_gtid(mut self, gtid: impl Into<String>) -> Self {
        let gtid = gtid.into();
        self.gtid = if gtid.is_empty() { None } else { Some(gtid) };
        self
    }

    /// The sequence number in the file name's extension (`binlog.000042` -> 42), 0 when the name
    /// has no numeric extension.
    pub fn file_seq(&self) -> u64 {
        file_seq(&self.file)
    }

    /// A number that grows with the position, for Elasticsearch external versions:
    /// `file sequence << 32 | offset`.
    ///
    /// Bounds: offsets fit in 32 bits because MariaDB and MySQL cap `max_binlog_size` at 1 GiB
    /// (a single huge transaction may overshoot it, but not by 3 GiB in practice; larger offsets
    /// saturate at `u32::MAX`), and the sequence must stay below 2^31 so that the version fits
    /// Elasticsearch's signed 64-bit versions. Versions only grow while the file sequence grows:
    /// `RESET MASTER` restarts the sequence at 1, after which indices must be rebuilt.
    pub fn version(&self) -> u64 {
        let seq = self.file_seq().min((1 << 31) - 1);
        let pos = self.pos.min(u64::from(u32::MAX));
        (seq << 32) | pos
    }

    /// The GTID list parsed into its per-domain entries (empty when there is none).
    pub fn gtids(&self) -> Result<Vec<Gtid>, PositionParseError> {
        match &self.gtid {
            Some(list) => parse_gtid_list(list),
            None => Ok(Vec::new()),
        }
    }
}

fn file_seq(file: &str) -> u64 {
    file.rsplit_once('.')
        .and_then(|(_, ext)| ext.parse::<u64>().ok())
        .unwrap_or(0)
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)?;
        if let Some(gtid) = &self.gtid {
            write!(f, "@{gtid}")?;
        }
        Ok(())
    }
}

impl FromStr for BinlogPosition {
    type Err = PositionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (file_pos, gtid) = match text.split_once('@') {
            Some((fp, g)) => (fp, Some(g)),
            None => (text, None),
        };
        let (file, pos) = file_pos
            .rsplit_once(':')
            .ok_or_else(|| PositionParseError::new(s, "expected `file:offset`"))?;
        if file.is_empty() {
            return Err(PositionParseError::new(s, "the file name is empty"));
        }
        let pos = pos
            .parse::<u64>()
            .map_err(|_| PositionParseError::new(s, "the offset is not a number"))?;
        let mut position = BinlogPosition::new(file, pos);
        if let Some(gtid) = gtid {
            // Validate the list now so that a bad checkpoint fails at load, not at resume.
            parse_gtid_list(gtid)?;
            position = position.with_gtid(gtid);
        }
        Ok(position)
    }
}

impl PartialOrd for BinlogPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BinlogPosition {
    /// Orders by file sequence, then offset; the file name and the GTID list only break ties so
    /// that the order agrees with `Eq`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.file_seq()
            .cmp(&other.file_seq())
            .then(self.pos.cmp(&other.pos))
            .then_with(|| self.file.cmp(&other.file))
            .then_with(|| self.gtid.cmp(&other.gtid))
            .then_with(|| self.resume_from.cmp(&other.resume_from))
    }
}

/// One MariaDB GTID: `domain-server-seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Gtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

impl FromStr for Gtid {
    type Err = PositionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.trim().splitn(3, '-');
        let mut next = || parts.next().and_then(|p| p.parse::<u64>().ok());
        match (next(), next(), next()) {
            (Some(d), Some(sv), Some(seq)) => {
                let domain = u32::try_from(d)
                    .map_err(|_| PositionParseError::new(s, "GTID domain exceeds 32 bits"))?;
                let server = u32::try_from(sv)
                    .map_err(|_| PositionParseError::new(s, "GTID server id exceeds 32 bits"))?;
                Ok(Gtid {
                    domain,
                    server,
                    seq,
                })
            }
            _ => Err(PositionParseError::new(
                s,
                "expected a GTID `domain-server-seq`",
            )),
        }
    }
}

/// Parses a MariaDB GTID list (`0-1-55,1-2-7`; empty means "no GTID yet").
pub fn parse_gtid_list(list: &str) -> Result<Vec<Gtid>, PositionParseError> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(Gtid::from_str)
        .collect()
}

/// The replication state the reader keeps: the last GTID seen per replication domain, which is
/// what MariaDB's `@slave_connect_state` wants to resume from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GtidState {
    domains: BTreeMap<u32, Gtid>,
}

impl GtidState {
    pub(crate) fn from_list(list: &[Gtid]) -> Self {
        let mut state = GtidState::default();
        for g in list {
            state.apply(*g);
        }
        state
    }

    pub(crate) fn apply(&mut self, gtid: Gtid) {
        self.domains.insert(gtid.domain, gtid);
    }

    /// The state as MariaDB prints it (domains in ascending order).
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for (i, g) in self.domains.values().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&g.to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_print_and_parse_with_and_without_gtid() {
        let p = BinlogPosition::new("binlog.000042", 1234);
        assert_eq!(p.to_string(), "binlog.000042:1234");
        assert_eq!("binlog.000042:1234".parse::<BinlogPosition>().unwrap(), p);
        let g = p.clone().with_gtid("0-1-55,1-2-7");
        assert_eq!(g.to_string(), "binlog.000042:1234@0-1-55,1-2-7");
        assert_eq!(g.to_string().parse::<BinlogPosition>().unwrap(), g);
        assert_eq!(
            g.gtids().unwrap(),
            vec![
                Gtid {
                    domain: 0,
                    server: 1,
                    seq: 55
                },
                Gtid {
                    domain: 1,
                    server: 2,
                    seq: 7
                }
            ]
        );
        assert!("binlog.000001".parse::<BinlogPosition>().is_err());
        assert!("binlog.000001:x".parse::<BinlogPosition>().is_err());
        assert!("binlog.000001:4@0-1".parse::<BinlogPosition>().is_err());
        assert!(":4".parse::<BinlogPosition>().is_err());
    }

    #[test]
    fn order_and_version_follow_file_sequence_then_offset() {
        let a = BinlogPosition::new("binlog.000009", 900_000);
        let b = BinlogPosition::new("binlog.000010", 4);
        let c = BinlogPosition::new("binlog.000010", 5);
        assert!(a < b && b < c);
        assert!(a.version() < b.version() && b.version() < c.version());
        assert_eq!(b.version(), (10 << 32) | 4);
        assert!(BinlogPosition::new("binlog.2147483647", u64::MAX).version() <= i64::MAX as u64);
    }

    #[test]
    fn positions_round_trip_through_json() {
        let p = BinlogPosition::new("binlog.000003", 77).with_gtid("0-1-9");
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<BinlogPosition>(&text).unwrap(), p);
        let plain: BinlogPosition =
            serde_json::from_str(r#"{"file":"binlog.000003","pos":77}"#).unwrap();
        assert_eq!(plain.gtid, None);
    }

    #[test]
    fn gtid_state_keeps_the_last_gtid_per_domain() {
        let mut s = GtidState::from_list(&parse_gtid_list("1-2-7,0-1-5").unwrap());
        s.apply(Gtid {
            domain: 0,
            server: 3,
            seq: 6,
        });
        assert_eq!(s.render(), "0-3-6,1-2-7");
    }
}
