//! A cloneable Elasticsearch/OpenSearch client: the official `elasticsearch` crate's transport
//! (connection pool, keep-alive, timeouts) plus a raw-bytes request path for the hot bulk loop.

use super::error::{EsError, EsResult};
use bytes::Bytes;
use elasticsearch::Elasticsearch;
pub use elasticsearch::http::Method;
use elasticsearch::http::Url;
use elasticsearch::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue};
use elasticsearch::http::transport::{
    MultiNodeConnectionPool, SingleNodeConnectionPool, TransportBuilder,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How the client talks to the cluster.
#[derive(Debug, Clone)]
pub struct EsConfig {
    /// Upper bound for one request, from connecting until the whole answer is read. Bulk requests
    /// of a few MiB on a busy cluster can take tens of seconds, so the default is generous.
    pub request_timeout: Duration,
    /// Whether `HTTP_PROXY`-style environment variables apply. Off by default because a system proxy
    /// in front of a loopback or in-cluster address is almost always a misconfiguration.
    pub use_system_proxy: bool,
}

impl Default for EsConfig {
    fn default() -> Self {
        EsConfig {
            request_timeout: Duration::from_secs(60),
            use_system_proxy: false,
        }
    }
}

/// A handle on the cluster. Cloning is cheap and shares the connection pool.
#[derive(Clone)]
pub struct EsClient {
    client: Elasticsearch,
    url: Arc<str>,
}

impl std::fmt::Debug for EsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsClient").field("url", &self.url).finish()
    }
}

/// The status and body of an answer, not interpreted yet.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub body: Bytes,
}

impl RawResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Parses the body as JSON; `what` names the request in the error.
    pub fn json<T: DeserializeOwned>(&self, method: Method, path: &str) -> EsResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| EsError::Protocol {
            method: method_name(method).to_string(),
            path: path.to_string(),
            reason: format!(
                "the body is not the expected JSON ({e}): {}",
                snippet(&self.body)
            ),
        })
    }

    /// The error this answer represents: Elasticsearch puts `error.type` and `error.reason` in the
    /// body (osmem sometimes a plain string in `error`); both are kept for the message.
    pub fn to_error(&self, method: Method, path: &str) -> EsError {
        let (error_type, reason) = parse_error_body(&self.body);
        EsError::Status {
            method: method_name(method).to_string(),
            path: path.to_string(),
            status: self.status,
            error_type,
            reason,
        }
    }
}

/// Extracts `(type, reason)` from an Elasticsearch error body, falling back to the raw text.
pub(crate) fn parse_error_body(body: &[u8]) -> (String, String) {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => match &v["error"] {
            Value::Object(e) => (
                e.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                e.get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            Value::String(s) => (String::new(), s.clone()),
            _ => (String::new(), snippet(body)),
        },
        Err(_) => (String::new(), snippet(body)),
    }
}

/// The first few hundred bytes of a body, for error messages that must stay readable.
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    if body.len() > MAX {
        format!("{text}...")
    } else {
        text.into_owned()
    }
}

pub(crate) fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Put => "PUT",
        Method::Post => "POST",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
    }
}

impl EsClient {
    /// A client for `url` (several nodes may be given, separated by commas) with default settings.
    pub fn new(url: &str) -> EsResult<Self> {
        Self::with_config(url, &EsConfig::default())
    }

    pub fn with_config(url: &str, config: &EsConfig) -> EsResult<Self> {
        let bad = |reason: String| EsError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let mut urls = Vec::new();
        for part in url.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let parsed = Url::parse(part).map_err(|e| bad(e.to_string()))?;
            match parsed.scheme() {
                "http" => {}
                // The crate is built without a TLS backend (plain HTTP to loopback or a sidecar);
                // saying so here beats an obscure error on the first request.
                "https" => {
                    return Err(bad(
                        "https is not supported: this build has no TLS backend".into()
                    ));
                }
                other => return Err(bad(format!("unsupported scheme `{other}`, expected http"))),
            }
            urls.push(parsed);
        }
        let builder = match urls.len() {
            0 => return Err(bad("no URL given".into())),
            1 => TransportBuilder::new(SingleNodeConnectionPool::new(urls.remove(0))),
            // Round robin over a static list: reseeding asks `_nodes` for publish addresses, which
            // behind Docker or a proxy are often unreachable from the client.
            _ => TransportBuilder::new(MultiNodeConnectionPool::round_robin(urls, None)),
        };
        let mut builder = builder
            .timeout(config.request_timeout)
            .enable_meta_header(false);
        if !config.use_system_proxy {
            builder = builder.disable_proxy();
        }
        let transport = builder.build().map_err(|e| bad(e.to_string()))?;
        Ok(EsClient {
            client: Elasticsearch::new(transport),
            url: Arc::from(url),
        })
    }

    /// The URL this client was built from, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The typed client of the `elasticsearch` crate, for APIs this module does not wrap.
    pub fn inner(&self) -> &Elasticsearch {
        &self.client
    }

    /// Checks that the server answers `GET /`. A refused connection becomes one sentence that names
    /// the URL, which is what a user starting mee against a stopped cluster needs to read.
    pub async fn ping(&self) -> EsResult<()> {
        let resp = self.send(Method::Get, "/", &[], None).await?;
        if resp.is_success() {
            Ok(())
        } else {
            Err(resp.to_error(Method::Get, "/"))
        }
    }

    /// Sends one request with an optional raw body and returns the status and body bytes.
    /// `body` is `(bytes, content type)`; the bytes are handed to the HTTP layer without a copy.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<(Bytes, &'static str)>,
    ) -> EsResult<RawResponse> {
        let mut headers = HeaderMap::new();
        if let Some((_, content_type)) = &body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        let query = if query.is_empty() { None } else { Some(query) };
        let result = self
            .client
            .transport()
            .send(method, path, headers, query, body.map(|(b, _)| b), None)
            .await;
        let response = result.map_err(|e| self.transport_error(method, path, &e))?;
        let status = response.status_code().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(method, path, &e))?;
        Ok(RawResponse { status, body })
    }

    /// Sends a JSON body (or none) and returns the raw answer.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> EsResult<RawResponse> {
        let body = match body {
            Some(v) => Some((
                Bytes::from(serde_json::to_vec(v).map_err(|e| EsError::Protocol {
                    method: method_name(method).to_string(),
                    path: path.to_string(),
                    reason: format!("cannot serialise the request body: {e}"),
                })?),
                "application/json",
            )),
            None => None,
        };
        self.send(method, path, query, body).await
    }

    /// Sends a JSON request and parses a 2xx answer; any other status becomes [`EsError::Status`].
    pub async fn request_json(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> EsResult<Value> {
        let resp = self.send_json(method, path, query, body).await?;
        if resp.is_success() {
            resp.json(method, path)
        } else {
            Err(resp.to_error(method, path))
        }
    }

    fn transport_error(&self, method: Method, path: &str, err: &elasticsearch::Error) -> EsError {
        let cause = error_chain(err);
        if is_connect_failure(err) {
            EsError::Unreachable {
                url: self.url.to_string(),
                cause,
            }
        } else {
            EsError::Transport {
                url: self.url.to_string(),
                method: method_name(method).to_string(),
                path: path.to_string(),
                cause,
            }
        }
    }

    /// Reads documents by `(id, routing)` in one `_mget` request (realtime: no refresh needed),
    /// answered in the order asked, `None` for a document that does not exist.
    pub async fn mget(
        &self,
        index: &str,
        docs: &[(String, Option<String>)],
    ) -> EsResult<Vec<Option<super::index::FetchedDoc>>> {
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let path = format!("/{}/_mget", encode_segment(index));
        let wanted: Vec<Value> = docs
            .iter()
            .map(|(id, routing)| match routing {
                Some(r) => serde_json::json!({"_id": id, "routing": r}),
                None => serde_json::json!({"_id": id}),
            })
            .collect();
        let answer = self
            .request_json(
                Method::Post,
                &path,
                &[],
                Some(&serde_json::json!({ "docs": wanted })),
            )
            .await?;
        let found = answer["docs"].as_array().map_or(&[][..], Vec::as_slice);
        if found.len() != docs.len() {
            return Err(EsError::Protocol {
                method: "POST".into(),
                path,
                reason: format!("asked for {} documents, got {}", docs.len(), found.len()),
            });
        }
        Ok(found
            .iter()
            .zip(docs)
            .map(|(d, (id, _))| {
                (d["found"] == Value::Bool(true)).then(|| super::index::FetchedDoc {
                    index: d["_index"].as_str().unwrap_or_default().to_string(),
                    id: d["_id"].as_str().unwrap_or(id).to_string(),
                    version: d["_version"].as_u64(),
                    source: d["_source"].clone(),
                })
            })
            .collect())
    }

    /// Opens a scroll over `index` in `_doc` order (every document once, the cheapest order) and
    /// returns its first page. The scroll sees the index as it was when it was opened;
    /// `with_source: false` returns ids, routings and versions only.
    pub async fn scroll_open(
        &self,
        index: &str,
        page_size: usize,
        keep_alive: &str,
        with_source: bool,
    ) -> EsResult<ScrollPage> {
        let path = format!("/{}/_search", encode_segment(index));
        let body = serde_json::json!({
            "size": page_size,
            "sort": ["_doc"],
            "version": true,
            "_source": with_source,
            "query": {"match_all": {}},
        });
        let answer = self
            .request_json(Method::Post, &path, &[("scroll", keep_alive)], Some(&body))
            .await?;
        Ok(ScrollPage::from_answer(answer))
    }

    /// The next page of a scroll opened by [`EsClient::scroll_open`]; empty after the last one.
    pub async fn scroll_next(&self, scroll_id: &str, keep_alive: &str) -> EsResult<ScrollPage> {
        let body = serde_json::json!({"scroll": keep_alive, "scroll_id": scroll_id});
        let answer = self
            .request_json(Method::Post, "/_search/scroll", &[], Some(&body))
            .await?;
        Ok(ScrollPage::from_answer(answer))
    }

    /// Frees a scroll's server-side context (it would otherwise live until its keep-alive ends).
    pub async fn scroll_close(&self, scroll_id: &str) -> EsResult<()> {
        let body = serde_json::json!({ "scroll_id": [scroll_id] });
        self.request_json(Method::Delete, "/_search/scroll", &[], Some(&body))
            .await?;
        Ok(())
    }
}

/// One page of a scroll.
#[derive(Debug, Clone, Default)]
pub struct ScrollPage {
    /// The id to ask for the next page with (servers may change it between pages).
    pub scroll_id: Option<String>,
    pub hits: Vec<super::index::Hit>,
}

impl ScrollPage {
    fn from_answer(mut answer: Value) -> ScrollPage {
        let hits = match answer["hits"]["hits"].take() {
            Value::Array(hits) => hits,
            _ => Vec::new(),
        };
        ScrollPage {
            scroll_id: answer["_scroll_id"].as_str().map(str::to_string),
            hits: hits.into_iter().map(super::index::Hit::from_json).collect(),
        }
    }
}

/// The error and its causes joined, because reqwest's top-level message ("error sending request")
/// hides the part that matters ("Connection refused").
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// Whether the request failed before any byte reached a server: the connection was refused, the
/// host is unknown or unreachable. Detected through the `io::Error` in the cause chain.
fn is_connect_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::*;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ConnectionRefused | AddrNotAvailable | HostUnreachable | NetworkUnreachable
            )
        {
            return true;
        }
        let text = e.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return true;
        }
        current = e.source();
    }
    false
}

/// Percent-encodes one URL path segment (a document id or an index name), keeping only RFC 3986
/// unreserved characters literal so that ids with `/`, `?`, `#` or spaces address the right doc.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for &b in segment.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_segment_escapes_reserved_characters() {
        assert_eq!(encode_segment("a-b_c.d~1"), "a-b_c.d~1");
        assert_eq!(encode_segment("a/b c?#%"), "a%2Fb%20c%3F%23%25");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn error_body_parsing_handles_both_shapes() {
        let (t, r) =
            parse_error_body(br#"{"error":{"type":"x_exception","reason":"bad"},"status":400}"#);
        assert_eq!((t.as_str(), r.as_str()), ("x_exception", "bad"));
        let (t, r) = parse_error_body(br#"{"error":"alias [a] missing","status":404}"#);
        assert_eq!((t.as_str(), r.as_str()), ("", "alias [a] missing"));
        let (_, r) = parse_error_body(b"plain text");
        assert_eq!(r, "plain text");
    }

    #[test]
    fn https_and_garbage_urls_are_rejected_up_front() {
        assert!(matches!(
            EsClient::new("https://x:9200"),
            Err(EsError::BadUrl { .. })
        ));
        assert!(matches!(
            EsClient::new("not a url"),
            Err(EsError::BadUrl { .. })
        ));
        assert!(matches!(EsClient::new(""), Err(EsError::BadUrl { .. })));
        assert!(EsClient::new("http://a:1,http://b:2").is_ok());
    }

    #[tokio::test]
    async fn refused_connection_names_the_url() {
        // Bind then drop a listener to get a port that nothing listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = EsClient::new(&url).expect("client");
        let err = client.ping().await.expect_err("nothing listens");
        assert!(matches!(err, EsError::Unreachable { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&url) && text.contains("not reachable"),
            "{text}"
        );
    }
}
