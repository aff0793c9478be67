//! A test's own MariaDB server: for tests that change GLOBAL settings, restart or kill the
//! server, which must never touch the shared instance other tests use in parallel.

use crate::env::unique_name;
use crate::mysql::TestMysql;
use crate::{TestFailure, TestResult};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long start-up (data directory and server) may take before the test fails.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// InnoDB's redo log of the template and the servers: small, so that a copy is quick (the
/// server would resize a log of another size at start-up).
const LOG_FILE_SIZE: &str = "8M";
/// How long a clean shutdown may take before the server is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// The same users as `scripts/services.sh`: `mee` gets exactly what mee needs, `mee_admin` is
/// for the test (schemas, data, global settings, binlog administration).
const USERS: &str = "CREATE USER IF NOT EXISTS 'mee'@'%' IDENTIFIED BY 'mee';
GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'mee'@'%';
CREATE USER IF NOT EXISTS 'mee_admin'@'%' IDENTIFIED BY 'mee_admin';
GRANT ALL PRIVILEGES ON *.* TO 'mee_admin'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;";

/// A private MariaDB server with the binlog set up as `scripts/services.sh` sets up the shared
/// one (ROW, FULL image, FULL metadata, utf8mb4, server id 1), in a fresh directory under the
/// system temp dir (a copy of a per-machine template made by `mariadb-install-db`), on a free
/// loopback port, with the users `mee` and `mee_admin`. Start-up takes well under a second
/// when the machine is idle.
///
/// Dropping it kills the server (by its own PID) and removes its directory.
///
/// ```no_run
/// # async fn demo() -> mee_testkit::TestResult {
/// let server = mee_testkit::PrivateMysql::start(&["--wait-timeout=5"]).await?;
/// let mut mysql = server.test_mysql(&["main"]).await?; // databases on the private server
/// mysql.exec("CREATE TABLE t (id INT PRIMARY KEY)").await?;
/// # Ok(()) }
/// ```
pub struct PrivateMysql {
    dir: PathBuf,
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl PrivateMysql {
    /// Copies a fresh data directory and starts the server with `extra_server_args` after the
    /// standard ones (so they can override them); returns once it accepts `mee_admin`.
    pub async fn start(extra_server_args: &[&str]) -> TestResult<PrivateMysql> {
        let dir = std::env::temp_dir().join(unique_name("mee-mysql"));
        std::fs::create_dir_all(&dir)?;
        // From here on, Drop removes the directory whatever fails.
        let mut server = PrivateMysql {
            dir,
            port: 0,
            args: Vec::new(),
            child: None,
        };
        let user = current_user()?;
        copy_dir(&template(&user)?, &server.dir.join("data"))?;
        server.port = free_port()?;
        let dir = server.dir.display().to_string();
        server.args = [
            "--no-defaults".to_string(),
            format!("--datadir={dir}/data"),
            format!("--socket={dir}/mysqld.sock"),
            format!("--pid-file={dir}/mysqld.pid"),
            format!("--port={}", server.port),
            "--bind-address=127.0.0.1".to_string(),
            format!("--user={user}"),
            "--skip-name-resolve".to_string(),
            format!("--log-bin={dir}/binlog"),
            "--binlog-format=ROW".to_string(),
            "--binlog-row-image=FULL".to_string(),
            "--binlog-row-metadata=FULL".to_string(),
            "--server-id=1".to_string(),
            "--character-set-server=utf8mb4".to_string(),
            "--collation-server=utf8mb4_unicode_ci".to_string(),
            "--max-connections=200".to_string(),
            // Small: a test's data is tiny, and several private servers may run at once.
            "--innodb-buffer-pool-size=32M".to_string(),
            format!("--innodb-log-file-size={LOG_FILE_SIZE}"),
            "--innodb-flush-log-at-trx-commit=2".to_string(),
            "--sync-binlog=0".to_string(),
            format!("--log-error={dir}/error.log"),
        ]
        .into_iter()
        .chain(extra_server_args.iter().map(|a| (*a).to_string()))
        .collect();
        server.spawn().await?;
        let mut root = server.root().await?;
        root.query_drop(USERS).await?;
        root.disconnect().await?;
        Ok(server)
    }

    /// Starts the server again on the same data directory, port and arguments (after
    /// [`PrivateMysql::stop`] or [`PrivateMysql::kill`]), waiting until it accepts connections.
    pub async fn restart(&mut self) -> TestResult {
        if self.is_running() {
            return Err(TestFailure::new(format!(
                "the private MariaDB on port {} is still running; stop or kill it first",
                self.port
            )));
        }
        self.spawn().await
    }

    /// Shuts the server down cleanly (`SHUTDOWN`) and waits until its process has exited;
    /// kills it if it takes longer than 30 s.
    pub async fn stop(&mut self) -> TestResult {
        if !self.is_running() {
            return Ok(());
        }
        let mut admin = Conn::from_url(self.admin_url().as_str()).await?;
        // The server may close the connection before it answers.
        let _ = admin.query_drop("SHUTDOWN").await;
        drop(admin);
        let deadline = Instant::now() + STOP_DEADLINE;
        while self.is_running() {
            if Instant::now() >= deadline {
                return self.kill();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Kills the server (SIGKILL to its own PID) and reaps it: a crash, for recovery tests.
    pub fn kill(&mut self) -> TestResult {
        if let Some(mut child) = self.child.take() {
            // Fails only if it has exited already, which is what we want.
            let _ = child.kill();
            child.wait()?;
        }
        Ok(())
    }

    /// Whether the server process is alive (it may still be starting up).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    /// The server's PID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the data, the binlog, the socket and `error.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// mee's least-privilege account: SELECT, REPLICATION SLAVE, BINLOG MONITOR.
    pub fn mee_url(&self) -> String {
        format!("mysql://mee:mee@127.0.0.1:{}", self.port)
    }

    /// The test's account (all privileges).
    pub fn admin_url(&self) -> String {
        format!("mysql://mee_admin:mee_admin@127.0.0.1:{}", self.port)
    }

    /// Fresh databases on this server, as [`TestMysql::with_databases`] makes on the shared one
    /// (`mee_url` and `admin_conn` of the handle point here).
    pub async fn test_mysql(&self, logical: &[&str]) -> TestResult<TestMysql> {
        TestMysql::on(&self.admin_url(), &self.mee_url(), logical).await
    }

    /// The last `lines` lines of the server's error log (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Runs `mariadbd` and polls its socket until it answers, it exits, or the deadline passes.
    async fn spawn(&mut self) -> TestResult {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mariadbd.out"))?;
        let child = Command::new(tool("mariadbd"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| TestFailure::new(format!("cannot run mariadbd: {e}")))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        let mut pause = Duration::from_millis(5);
        loop {
            if self.root().await.is_ok() {
                return Ok(());
            }
            let problem = if !self.is_running() {
                "exited during start-up"
            } else if Instant::now() >= deadline {
                "did not answer within 60 s"
            } else {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
                continue;
            };
            return Err(TestFailure::new(format!(
                "the private MariaDB in {} {problem}; last lines of its error log:\n{}",
                self.dir.display(),
                self.log_tail(30)
            )));
        }
    }

    /// `root` over the server's own socket (it has no TCP account).
    async fn root(&self) -> TestResult<Conn> {
        let opts = OptsBuilder::default()
            .socket(Some(self.dir.join("mysqld.sock").display().to_string()))
            .user(Some("root"));
        Ok(Conn::new(opts).await?)
    }
}

impl Drop for PrivateMysql {
    fn drop(&mut self) {
        let _ = self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A freshly initialised data directory for this MariaDB version, made once per machine (under
/// the system temp dir) and copied for each server: `mariadb-install-db` takes from half a second
/// to several on a busy machine, a copy well under one.
fn template(user: &str) -> TestResult<PathBuf> {
    let version = Command::new(tool("mariadbd"))
        .arg("--version")
        .output()
        .map_err(|e| TestFailure::new(format!("cannot run mariadbd: {e}")))?;
    let version: String = String::from_utf8_lossy(&version.stdout)
        .split_whitespace()
        .nth(2)
        .unwrap_or("unknown")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let template = std::env::temp_dir().join(format!("mee-mysql-template-{version}"));
    if template.join("mysql").is_dir() {
        return Ok(template);
    }
    // Built aside and renamed into place: a concurrent test sees it whole or not at all.
    let building = std::env::temp_dir().join(unique_name("mee-mysql-template-building"));
    let install = Command::new(tool("mariadb-install-db"))
        .arg("--no-defaults")
        .arg(format!("--datadir={}", building.display()))
        .arg(format!("--user={user}"))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .arg(format!("--innodb-log-file-size={LOG_FILE_SIZE}"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TestFailure::new(format!("cannot run mariadb-install-db: {e}")))?;
    if !install.status.success() {
        let _ = std::fs::remove_dir_all(&building);
        return Err(TestFailure::new(format!(
            "mariadb-install-db failed ({}): {}{}",
            install.status,
            String::from_utf8_lossy(&install.stdout),
            String::from_utf8_lossy(&install.stderr)
        )));
    }
    if std::fs::rename(&building, &template).is_err() {
        // Another test put its template there first.
        let _ = std::fs::remove_dir_all(&building);
    }
    if template.join("mysql").is_dir() {
        Ok(template)
    } else {
        Err(TestFailure::new(format!(
            "no MariaDB data directory template at {}",
            template.display()
        )))
    }
}

fn copy_dir(from: &Path, to: &Path) -> TestResult {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `/usr/sbin/NAME` (Debian's place, often not on a user's PATH) or NAME from PATH.
fn tool(name: &str) -> PathBuf {
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.exists() {
        sbin
    } else {
        PathBuf::from(name)
    }
}

fn current_user() -> TestResult<String> {
    if let Ok(user) = std::env::var("USER")
        && !user.is_empty()
    {
        return Ok(user);
    }
    let out = Command::new("id").arg("-un").output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A port nothing listens on right now (the OS picks it; the server binds it a moment later).
fn free_port() -> TestResult<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
