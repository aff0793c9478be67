//! The start-up check of the source server: is the binlog on, in a form mee can decode
//! completely, and may mee's account stream it? Also reads where the binlog is now.

use super::BinlogError;
use super::position::BinlogPosition;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use std::collections::HashMap;

/// What the server says about its binlog, read once at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSettings {
    /// `host:port`, for messages.
    pub address: String,
    pub is_mariadb: bool,
    pub version: String,
    pub server_id: u32,
    /// Global system variables relevant to the binlog (lower-case names, upper-case values);
    /// a variable the server does not have is absent.
    pub variables: HashMap<String, String>,
    /// Whether the account holds a privilege that allows `COM_BINLOG_DUMP`, when it can be told
    /// from `SHOW GRANTS` (`None` when the grants come through roles and cannot be judged).
    pub can_stream: Option<bool>,
    /// Whether the account may run `SHOW MASTER STATUS` (BINLOG MONITOR / REPLICATION CLIENT).
    pub can_monitor: bool,
    /// The end of the binlog now (`SHOW MASTER STATUS`), with the GTID position when known.
    pub head: Option<BinlogPosition>,
    /// `@@gtid_binlog_pos` (MariaDB).
    pub gtid_binlog_pos: Option<String>,
}

impl ServerSettings {
    fn var(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }

    fn kind(&self) -> &'static str {
        if self.is_mariadb { "MariaDB" } else { "MySQL" }
    }

    /// Every setting that keeps mee from reading the binlog correctly, one sentence each saying
    /// what to change. Empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let server = format!("the {} server at {}", self.kind(), self.address);
        let on = |v: Option<&str>| matches!(v, Some("ON" | "1"));

        if !on(self.var("log_bin")) {
            out.push(format!(
                "{server} has its binary log switched off (log_bin=OFF); mee follows the binlog \
                 to see changes: start the server with `log_bin` (for example `--log-bin=binlog`) and a \
                 `server_id`, then restart mee"
            ));
        }
        let mut expect =
            |name: &str, want: &str, why: &str| {
                let how = format!(
                    "set `{name}={want}` in the server configuration (or `SET GLOBAL \
                 {name}={want}`) and restart mee"
                );
                match self.var(name) {
                Some(have) if !have.eq_ignore_ascii_case(want) => {
                    out.push(format!("{server} has {name}={have}; mee needs {want} {why}: {how}"));
                }
                Some(_) => {}
                None => out.push(format!(
                    "{server} does not support {name}, and mee needs {name}={want} {why}: use a \
                     server version that has it (MariaDB 10.5 or later, MySQL 8.0 or later)"
                )),
            }
            };
        expect(
            "binlog_format",
            "ROW",
            "to see every changed row, not only statements",
        );
        expect(
            "binlog_row_image",
            "FULL",
            "to get whole before and after images of every row",
        );
        expect(
            "binlog_row_metadata",
            "FULL",
            "to read column names and signedness",
        );
        if self.is_mariadb {
            let compress = self.var("log_bin_compress");
            if on(compress) {
                out.push(format!(
                    "{server} has log_bin_compress=ON; mee cannot read compressed rows events and \
                     would lose changes: set `log_bin_compress=OFF` in the server configuration \
                     (or `SET GLOBAL log_bin_compress=OFF`) and restart mee"
                ));
            }
        }
        if self
            .var("binlog_transaction_compression")
            .is_some_and(|v| on(Some(v)))
        {
            tracing::info!(
                "binlog_transaction_compression is ON; mysql_async decompresses transaction \
                 payloads, so mee reads them"
            );
        }
        if self.can_stream == Some(false) {
            out.push(format!(
                "the account mee uses on {server} lacks the REPLICATION SLAVE privilege it needs to \
                 stream the binlog: run `GRANT REPLICATION SLAVE ON *.* TO <mee's user>`"
            ));
        }
        if !self.can_monitor {
            let privilege = if self.is_mariadb {
                "BINLOG MONITOR"
            } else {
                "REPLICATION CLIENT"
            };
            out.push(format!(
                "the account mee uses on {server} may not run SHOW MASTER STATUS, which mee needs \
                 to find the binlog head: run `GRANT {privilege} ON *.* TO <mee's user>`"
            ));
        }
        out
    }

    /// `Ok` when mee can stream and decode this server's binlog, else the problems joined.
    pub fn check(&self) -> Result<(), BinlogError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(BinlogError::Settings(problems.join("\n")))
        }
    }
}

/// The variables the check reads; `SHOW GLOBAL VARIABLES` returns only those the server has, so
/// MySQL and MariaDB versions without one of them do not fail the query.
const VARIABLES: &[&str] = &[
    "log_bin",
    "binlog_format",
    "binlog_row_image",
    "binlog_row_metadata",
    "log_bin_compress",
    "binlog_transaction_compression",
    "binlog_checksum",
    "server_id",
    "version",
    "gtid_binlog_pos",
];

/// The end of the binlog now (`SHOW MASTER STATUS`, file and offset only): `None` when the
/// account may not ask (it lacks BINLOG MONITOR / REPLICATION CLIENT), `Some(None)` when the
/// server has no binlog.
pub async fn read_head(conn: &mut Conn) -> Result<Option<Option<BinlogPosition>>, BinlogError> {
    match conn.query_iter("SHOW MASTER STATUS").await {
        Ok(mut result) => {
            let rows: Vec<mysql_async::Row> = result
                .collect()
                .await
                .map_err(|e| BinlogError::mysql("reading SHOW MASTER STATUS", e))?;
            Ok(Some(rows.into_iter().next().and_then(|row| {
                let file: Option<String> = row.get(0);
                let pos: Option<u64> = row.get(1);
                Some(BinlogPosition::new(file?, pos?))
            })))
        }
        // 1227: access denied.
        Err(mysql_async::Error::Server(e)) if e.code == 1227 => Ok(None),
        Err(e) => Err(BinlogError::mysql("running SHOW MASTER STATUS", e)),
    }
}

/// Reads the server's binlog settings, privileges and head position.
pub async fn read_server_settings(
    conn: &mut Conn,
    address: &str,
) -> Result<ServerSettings, BinlogError> {
    let list = VARIABLES
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(",");
    let rows: Vec<(String, String)> = conn
        .query(format!(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ({list})"
        ))
        .await
        .map_err(|e| BinlogError::mysql("reading the server's binlog settings", e))?;
    let mut variables = HashMap::new();
    for (name, value) in rows {
        variables.insert(name.to_ascii_lowercase(), value.to_ascii_uppercase());
    }
    let version = variables.get("version").cloned().unwrap_or_default();
    // Values were upper-cased above; MariaDB's version string always names it.
    let is_mariadb = version.contains("MARIADB");
    let server_id = variables
        .get("server_id")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let gtid_binlog_pos = variables.get("gtid_binlog_pos").cloned();

    let grants: Vec<String> = conn
        .query("SHOW GRANTS FOR CURRENT_USER()")
        .await
        .map_err(|e| BinlogError::mysql("reading the account's grants", e))?;
    let can_stream = grants_allow_streaming(&grants);

    let (can_monitor, head) = match read_head(conn).await? {
        Some(head) => (true, head),
        None => (false, None),
    };
    let head = head.map(|h| match &gtid_binlog_pos {
        Some(g) if is_mariadb => h.with_gtid(g.clone()),
        _ => h,
    });

    Ok(ServerSettings {
        address: address.to_string(),
        is_mariadb,
        version,
        server_id,
        variables,
        can_stream,
        can_monitor,
        head,
        gtid_binlog_pos: gtid_binlog_pos.filter(|g| !g.is_empty()),
    })
}

/// Reads the settings and fails with one sentence per problem when mee cannot follow this
/// server's binlog.
pub async fn check_server(conn: &mut Conn, address: &str) -> Result<ServerSettings, BinlogError> {
    let settings = read_server_settings(conn, address).await?;
    settings.check()?;
    Ok(settings)
}

/// Judges `SHOW GRANTS` lines: a global `REPLICATION SLAVE` (MariaDB also prints `REPLICATION
/// REPLICA`) or `ALL PRIVILEGES` allows streaming. Role grants cannot be judged from here.
pub(crate) fn grants_allow_streaming(grants: &[String]) -> Option<bool> {
    let mut through_roles = false;
    for line in grants {
        let upper = line.to_ascii_uppercase();
        if !upper.starts_with("GRANT ") {
            continue;
        }
        if upper.contains(" ON *.* ")
            && (upper.contains("REPLICATION SLAVE")
                || upper.contains("REPLICATION REPLICA")
                || upper.contains("ALL PRIVILEGES"))
        {
            return Some(true);
        }
        if !upper.contains(" ON ") {
            // `GRANT role TO user`: the role's privileges are not listed here.
            through_roles = true;
        }
    }
    if through_roles { None } else { Some(false) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> ServerSettings {
        let variables = [
            ("log_bin", "ON"),
            ("binlog_format", "ROW"),
            ("binlog_row_image", "FULL"),
            ("binlog_row_metadata", "FULL"),
            ("log_bin_compress", "OFF"),
            ("server_id", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        ServerSettings {
            address: "127.0.0.1:13306".into(),
            is_mariadb: true,
            version: "10.11.19-MARIADB".into(),
            server_id: 1,
            variables,
            can_stream: Some(true),
            can_monitor: true,
            head: Some(BinlogPosition::new("binlog.000001", 4)),
            gtid_binlog_pos: None,
        }
    }

    fn with(name: &str, value: &str) -> ServerSettings {
        let mut s = good();
        s.variables.insert(name.into(), value.into());
        s
    }

    #[test]
    fn good_settings_pass() {
        assert!(good().check().is_ok());
    }

    #[test]
    fn minimal_row_metadata_is_one_sentence_naming_the_fix() {
        let problems = with("binlog_row_metadata", "MINIMAL").problems();
        assert_eq!(
            problems,
            vec![
                "the MariaDB server at 127.0.0.1:13306 has binlog_row_metadata=MINIMAL; mee needs \
                 FULL to read column names and signedness: set `binlog_row_metadata=FULL` in the \
                 server configuration (or `SET GLOBAL binlog_row_metadata=FULL`) and restart mee"
                    .to_string()
            ]
        );
    }

    #[test]
    fn each_wrong_setting_gets_its_own_sentence() {
        let mut s = with("binlog_format", "MIXED");
        s.variables
            .insert("binlog_row_image".into(), "MINIMAL".into());
        s.variables.insert("log_bin_compress".into(), "ON".into());
        s.variables.insert("log_bin".into(), "OFF".into());
        s.can_stream = Some(false);
        s.can_monitor = false;
        let problems = s.problems();
        assert_eq!(problems.len(), 6, "{problems:#?}");
        for p in &problems {
            assert!(!p.trim_end_matches('`').contains(". "), "one sentence: {p}");
        }
        assert!(problems[0].contains("log_bin=OFF"));
        assert!(
            problems[1].contains("binlog_format=MIXED")
                && problems[1].contains("SET GLOBAL binlog_format=ROW")
        );
        assert!(problems[2].contains("binlog_row_image=MINIMAL"));
        assert!(problems[3].contains("SET GLOBAL log_bin_compress=OFF"));
        assert!(problems[4].contains("GRANT REPLICATION SLAVE"));
        assert!(problems[5].contains("GRANT BINLOG MONITOR"));
        let err = s.check().unwrap_err().to_string();
        assert_eq!(err.lines().count(), 6);
    }

    #[test]
    fn a_server_without_row_metadata_is_refused() {
        let mut s = good();
        s.variables.remove("binlog_row_metadata");
        let problems = s.problems();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("does not support binlog_row_metadata"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn grants_are_judged_from_show_grants() {
        let g = |lines: &[&str]| {
            grants_allow_streaming(&lines.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            g(&["GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `mee`@`%`"]),
            Some(true)
        );
        assert_eq!(
            g(&["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"]),
            Some(true)
        );
        assert_eq!(g(&["GRANT SELECT ON *.* TO `x`@`%`"]), Some(false));
        assert_eq!(
            g(&["GRANT REPLICATION SLAVE ON `db`.* TO `x`@`%`"]),
            Some(false)
        );
        assert_eq!(
            g(&["GRANT SELECT ON *.* TO `x`@`%`", "GRANT `repl` TO `x`@`%`"]),
            None
        );
    }
}
