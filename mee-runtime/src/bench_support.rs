//! Measurement helpers for benchmarks: CPU time and memory of this process (or one thread), read
//! from `/proc` so that no extra dependency is needed (Linux only; elsewhere they return `None`),
//! percentiles of latency samples, and [`HttpTap`], a pass-through HTTP proxy that tells a
//! benchmark when each answer came back and what the request carried.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// `/proc` reports CPU times in clock ticks of `USER_HZ`, which Linux fixes at 100 for this
/// interface on every architecture, whatever the kernel's internal tick rate.
const USER_HZ: u64 = 100;

/// User plus system CPU time of the whole process so far.
pub fn process_cpu_time() -> Option<Duration> {
    cpu_time_from_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// User plus system CPU time of one thread of this process, by its kernel thread id.
pub fn thread_cpu_time(tid: u32) -> Option<Duration> {
    cpu_time_from_stat(&std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?)
}

/// User plus system CPU time of another process so far (e.g. the database server a benchmark
/// drives, to tell its share of the work from mee's). Needs permission to read its `stat`.
pub fn other_process_cpu_time(pid: u32) -> Option<Duration> {
    cpu_time_from_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The kernel id of the calling thread, for [`thread_cpu_time`] from another thread.
pub fn current_thread_id() -> Option<u32> {
    // `/proc/thread-self` links to `<pid>/task/<tid>`.
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Peak resident memory of the process (`VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// Resets the peak resident memory (`VmHWM`) to the current one, so that a benchmark can report
/// the peak of one phase. Returns whether the kernel accepted it (Linux 4.0 and later).
pub fn reset_peak_rss() -> bool {
    // "5" is the clear_refs command that resets the high-water mark (proc(5)).
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Current resident memory of the process (`VmRSS`), in bytes.
pub fn current_rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Fields 14 (utime) and 15 (stime) of a `stat` line. The command name in field 2 may contain
/// spaces and parentheses, so counting starts after its closing parenthesis.
fn cpu_time_from_stat(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name come field 3 (state) onwards; utime is field 14, i.e. the 12th from here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / USER_HZ))
}

/// Wall time and process CPU time between [`Measure::start`] and [`Measure::finish`].
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    wall: Instant,
    cpu: Duration,
}

/// What a [`Measure`] observed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss_bytes: u64,
}

impl Measure {
    pub fn start() -> Self {
        Measure {
            wall: Instant::now(),
            cpu: process_cpu_time().unwrap_or_default(),
        }
    }

    pub fn finish(&self) -> Measured {
        Measured {
            wall: self.wall.elapsed(),
            cpu: process_cpu_time()
                .unwrap_or_default()
                .saturating_sub(self.cpu),
            peak_rss_bytes: peak_rss_bytes().unwrap_or_default(),
        }
    }
}

/// The nearest-rank percentile `p` (0 to 100) of ascending `sorted` samples; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One request and its answer as [`HttpTap`] saw them.
#[derive(Debug)]
pub struct TapExchange<'a> {
    pub method: &'a str,
    /// The request target: path and query.
    pub target: &'a str,
    pub request_body: &'a [u8],
    pub status: u16,
    /// When the whole answer had arrived from upstream, just before it is passed on.
    pub answered_at: Instant,
}

/// Called on the tap's thread for every exchange; it delays the answer, so keep it cheap.
pub type TapObserver = Arc<dyn Fn(&TapExchange<'_>) + Send + Sync>;

/// A pass-through HTTP/1.1 proxy on its own thread, in front of an upstream such as the
/// `_bulk`-only sink: every request goes upstream byte for byte, and once its answer is back the
/// observer sees the request body and the time, before the client does. A latency benchmark uses
/// it to learn when the write that carries a given change was acknowledged, without the engine
/// under test knowing.
///
/// Messages are framed by `content-length` only (no chunked bodies), which is what mee's client
/// sends and the bulk sink answers; anything else closes the connection.
pub struct HttpTap {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    thread_id: Option<u32>,
}

impl std::fmt::Debug for HttpTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTap").field("url", &self.url).finish()
    }
}

impl HttpTap {
    /// Listens on `127.0.0.1:0` and forwards to `upstream`, one upstream connection per client
    /// connection (so requests in flight stay in flight).
    pub fn start_on_thread(upstream: SocketAddr, observer: TapObserver) -> io::Result<Self> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("http-tap".into())
            .spawn(move || {
                let _ = tid_tx.send(current_thread_id());
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "http tap: cannot start its runtime");
                        return;
                    }
                };
                runtime.block_on(async move {
                    match TcpListener::from_std(std_listener) {
                        Ok(listener) => tap_accept_loop(listener, upstream, observer, rx).await,
                        Err(e) => {
                            tracing::error!(error = %e, "http tap: cannot register its listener")
                        }
                    }
                });
            })?;
        let thread_id = tid_rx.recv_timeout(Duration::from_secs(5)).ok().flatten();
        Ok(HttpTap {
            url: format!("http://{addr}"),
            shutdown: Some(tx),
            thread: Some(thread),
            thread_id,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// CPU time of the tap's thread (forwarding and the observer).
    pub fn cpu_time(&self) -> Option<Duration> {
        thread_cpu_time(self.thread_id?)
    }
}

impl Drop for HttpTap {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn tap_accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    observer: TapObserver,
    mut shutdown: oneshot::Receiver<()>,
) {
    // Connection tasks live in this set so that stopping the loop also closes every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(tap_connection(stream, upstream, observer.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "http tap: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn tap_connection(mut client: TcpStream, upstream: SocketAddr, observer: TapObserver) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mut from_client: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut from_server: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let Some(request) = read_message(&mut client, &mut from_client).await else {
            return;
        };
        if server.write_all(&from_client[..request.end]).await.is_err() {
            return;
        }
        let Some(answer) = read_message(&mut server, &mut from_server).await else {
            return;
        };
        let answered_at = Instant::now();
        let head = String::from_utf8_lossy(&from_client[..request.head_end]);
        let mut request_line = head.split("\r\n").next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default();
        let target = request_line.next().unwrap_or_default();
        let status = std::str::from_utf8(&from_server[..answer.head_end])
            .ok()
            .and_then(|h| h.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        observer(&TapExchange {
            method,
            target,
            request_body: &from_client[request.body_start..request.end],
            status,
            answered_at,
        });
        if client.write_all(&from_server[..answer.end]).await.is_err() {
            return;
        }
        // Keep whatever followed (a pipelined request) at the front of the buffers.
        from_client.drain(..request.end);
        from_server.drain(..answer.end);
    }
}

/// Where one HTTP message lies at the front of a buffer.
struct Framed {
    head_end: usize,
    body_start: usize,
    end: usize,
}

/// Reads one whole message (head and `content-length` body) into the front of `buf`; `None` at
/// the end of the stream or for a message it cannot frame.
async fn read_message(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Framed> {
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 64 * 1024 || stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut length = 0usize;
    for line in head.split("\r\n").skip(1) {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && !value.trim().eq_ignore_ascii_case("identity")
        {
            return None;
        }
    }
    let body_start = head_end + 4;
    let end = body_start + length;
    buf.reserve(end.saturating_sub(buf.len()));
    while buf.len() < end {
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
    Some(Framed {
        head_end,
        body_start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |n: u64| Duration::from_millis(n);
        let samples: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&samples, 50.0), ms(50));
        assert_eq!(percentile(&samples, 99.0), ms(99));
        assert_eq!(percentile(&samples, 100.0), ms(100));
        assert_eq!(percentile(&samples, 0.0), ms(1));
        assert_eq!(percentile(&[ms(7)], 90.0), ms(7));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[tokio::test]
    async fn tap_passes_bulk_through_and_reports_it() {
        let sink = crate::es::BulkSink::start().await.expect("sink");
        let seen = Arc::new(std::sync::Mutex::new(Vec::<(String, u16, usize)>::new()));
        let record = seen.clone();
        let tap = HttpTap::start_on_thread(
            sink.addr(),
            Arc::new(move |x: &TapExchange<'_>| {
                record.lock().expect("lock").push((
                    format!("{} {}", x.method, x.target),
                    x.status,
                    x.request_body.len(),
                ))
            }),
        )
        .expect("tap");
        let client = crate::es::EsClient::new(tap.url()).expect("client");
        let mut writer = crate::es::BulkWriter::new(client, crate::es::BulkConfig::default());
        let ops = (0..3)
            .map(|i| crate::es::BulkOp::index("t".into(), i.to_string(), b"{\"a\":1}".to_vec()))
            .collect();
        let outcome = writer.write_batch(ops).await.expect("bulk through the tap");
        assert_eq!(outcome.ok, 3);
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].0.starts_with("POST /_bulk"), "{seen:?}");
        assert_eq!(seen[0].1, 200);
        assert!(seen[0].2 > 0);
    }

    #[test]
    fn parses_a_stat_line_with_a_tricky_name() {
        let line =
            "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 100 0 0";
        assert_eq!(cpu_time_from_stat(line), Some(Duration::from_millis(3250)));
    }

    #[test]
    fn reads_this_process() {
        if cfg!(target_os = "linux") {
            assert!(process_cpu_time().is_some());
            assert!(peak_rss_bytes().unwrap_or(0) > 0);
            let tid = current_thread_id().expect("tid");
            assert!(thread_cpu_time(tid).is_some());
        }
    }
}
