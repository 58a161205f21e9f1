//! Fetches one feed document over HTTP (or from a configured `file://` URL):
//! conditional GET, decompression, redirects followed by hand, and every limit
//! enforced while the body streams in.
//!
//! Redirects are followed here rather than by reqwest so that each hop can be
//! checked (scheme, count) and so that we know whether the whole chain was
//! permanent, which is what decides if the stored feed URL moves.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION, RETRY_AFTER,
};
use url::Url;

use crate::config::DaemonConfig;

/// The limits of one fetch.
#[derive(Debug, Clone)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// The whole fetch: every redirect hop and the body included.
    pub timeout: Duration,
    /// Largest body accepted, counted after decompression.
    pub max_bytes: u64,
    pub max_redirects: usize,
    pub user_agent: String,
}

impl Limits {
    pub fn from_config(d: &DaemonConfig) -> Limits {
        Limits {
            connect_timeout: d.connect_timeout,
            timeout: d.timeout,
            max_bytes: d.max_feed_bytes,
            max_redirects: 10,
            user_agent: d.user_agent.clone(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_config(&DaemonConfig::default())
    }
}

/// What to fetch, with the validators of the last successful fetch.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub url: &'a str,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// A fetch that got an answer worth processing.
#[derive(Debug, Clone)]
pub enum Response {
    /// `304 Not Modified`: the stored copy is current.
    NotModified {
        /// Set when the URL moved permanently on the way (see [`Document::moved_to`]).
        moved_to: Option<String>,
        cache: CacheHeaders,
    },
    Document(Document),
}

/// The headers that say how long an answer stays fresh, as sent.
#[derive(Debug, Clone, Default)]
pub struct CacheHeaders {
    pub cache_control: Option<String>,
    pub expires: Option<String>,
}

impl CacheHeaders {
    fn of(h: &HeaderMap) -> CacheHeaders {
        CacheHeaders {
            cache_control: header(h, reqwest::header::CACHE_CONTROL),
            expires: header(h, reqwest::header::EXPIRES),
        }
    }
}

/// A feed document as served.
#[derive(Debug, Clone)]
pub struct Document {
    pub status: u16,
    /// Decompressed body.
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub content_language: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The URL the body came from, after redirects.
    pub final_url: String,
    /// The new address of the feed when every redirect on the way was
    /// permanent (301 or 308); `None` without redirects or with any temporary one.
    pub moved_to: Option<String>,
    pub cache: CacheHeaders,
}

/// A fetch that failed. The message names what happened and, where it
/// helps, the limit or address involved.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid url {0:?}")]
    InvalidUrl(String),
    #[error("unsupported url scheme {0:?} (only http and https)")]
    UnsupportedScheme(String),
    #[error("HTTP {status}{}", reason_suffix(*status))]
    Status {
        status: u16,
        /// `Retry-After` as sent, for the scheduler.
        retry_after: Option<String>,
    },
    #[error("redirect without a usable Location (HTTP {status})")]
    BadRedirect { status: u16 },
    #[error("redirect to {0:?} refused: only http and https are followed")]
    RedirectScheme(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("body exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("timed out after {}s (whole fetch, body included)", .0.as_secs_f64())]
    Timeout(Duration),
    /// DNS, TCP or TLS failed: no answer came from the server at all.
    #[error("{0}")]
    Connect(String),
    #[error("{0}")]
    Network(String),
    #[error("cannot read {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

fn reason_suffix(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

impl FetchError {
    /// True when the server was never reached: the kind of failure that,
    /// when nearly every feed has it at once, is our network's fault.
    pub fn is_connect(&self) -> bool {
        matches!(self, FetchError::Connect(_))
    }

    /// The HTTP status that ended the fetch, if an answer came.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } | FetchError::BadRedirect { status } => Some(*status),
            _ => None,
        }
    }
}

/// An HTTP client with trawl's settings. Cheap to share by reference; one per process.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: Limits,
}

impl Fetcher {
    pub fn new(limits: Limits) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(limits.user_agent.clone())
            .connect_timeout(limits.connect_timeout)
            // Hops are followed in `fetch`, one checked request at a time.
            .redirect(reqwest::redirect::Policy::none())
            // A feed fetcher must not be steered by the environment's proxy settings by surprise.
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| FetchError::Network(format!("cannot build HTTP client: {e}")))?;
        Ok(Fetcher { client, limits })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Fetches one feed. The whole of it, redirects and body included, is
    /// bounded by `limits.timeout`.
    pub async fn fetch(&self, req: &Request<'_>) -> Result<Response, FetchError> {
        let url =
            Url::parse(req.url.trim()).map_err(|_| FetchError::InvalidUrl(req.url.to_string()))?;
        match url.scheme() {
            "http" | "https" => {}
            // Only ever reached for a configured URL: redirects to file: are refused below.
            "file" => return self.read_file(&url).await.map(Response::Document),
            other => return Err(FetchError::UnsupportedScheme(other.to_string())),
        }
        let limit = self.limits.timeout;
        match tokio::time::timeout(limit, self.fetch_http(url, req)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(limit)),
        }
    }

    async fn fetch_http(&self, mut url: Url, req: &Request<'_>) -> Result<Response, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static(
                "application/rss+xml, application/atom+xml, application/feed+json, \
                 application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5",
            ),
        );
        // Validators that are not valid header values (a server once sent
        // them; nothing we can repeat) are simply not sent.
        if let Some(v) = req.etag.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(IF_NONE_MATCH, v);
        }
        if let Some(v) = req
            .last_modified
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(IF_MODIFIED_SINCE, v);
        }

        let mut hops = 0usize;
        let mut all_permanent = true;
        loop {
            let mut resp = self
                .client
                .get(url.clone())
                .headers(headers.clone())
                .send()
                .await
                .map_err(network_error)?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc.trim()).ok())
                    .ok_or(FetchError::BadRedirect {
                        status: status.as_u16(),
                    })?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(FetchError::RedirectScheme(next.to_string()));
                }
                hops += 1;
                if hops > self.limits.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.limits.max_redirects));
                }
                all_permanent &= matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                url = next;
                continue;
            }

            let moved_to = (hops > 0 && all_permanent).then(|| url.to_string());
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Response::NotModified {
                    moved_to,
                    cache: CacheHeaders::of(resp.headers()),
                });
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    retry_after: header(resp.headers(), RETRY_AFTER),
                });
            }

            let h = resp.headers();
            let mut doc = Document {
                status: status.as_u16(),
                body: Vec::new(),
                content_type: header(h, CONTENT_TYPE),
                content_language: header(h, reqwest::header::CONTENT_LANGUAGE),
                etag: header(h, ETAG),
                last_modified: header(h, LAST_MODIFIED),
                final_url: url.to_string(),
                moved_to,
                cache: CacheHeaders::of(h),
            };
            let max = self.limits.max_bytes;
            if resp.content_length().is_some_and(|n| n > max) {
                return Err(FetchError::TooLarge { limit: max });
            }
            // The body is read chunk by chunk after decompression, so a small
            // compressed body that inflates past the limit stops at the limit.
            while let Some(chunk) = resp.chunk().await.map_err(network_error)? {
                if doc.body.len() as u64 + chunk.len() as u64 > max {
                    return Err(FetchError::TooLarge { limit: max });
                }
                doc.body.extend_from_slice(&chunk);
            }
            return Ok(Response::Document(doc));
        }
    }

    async fn read_file(&self, url: &Url) -> Result<Document, FetchError> {
        use tokio::io::AsyncReadExt;
        let path = url
            .to_file_path()
            .map_err(|_| FetchError::InvalidUrl(url.to_string()))?;
        let file_err = |source| FetchError::File {
            path: path.display().to_string(),
            source,
        };
        let file = tokio::fs::File::open(&path).await.map_err(file_err)?;
        let max = self.limits.max_bytes;
        let mut body = Vec::new();
        // Read one byte past the limit to tell "exactly at the limit" from "over it".
        file.take(max + 1)
            .read_to_end(&mut body)
            .await
            .map_err(file_err)?;
        if body.len() as u64 > max {
            return Err(FetchError::TooLarge { limit: max });
        }
        Ok(Document {
            status: 200,
            body,
            content_type: None,
            content_language: None,
            etag: None,
            last_modified: None,
            final_url: url.to_string(),
            moved_to: None,
            cache: CacheHeaders::default(),
        })
    }
}

fn header(h: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Describes a transport error by its cause chain: reqwest's top-level
/// message alone ("error sending request") says nothing useful.
fn network_error(e: reqwest::Error) -> FetchError {
    let connect = e.is_connect();
    let mut msg = if connect {
        "connect failed".to_string()
    } else if e.is_body() || e.is_decode() {
        "reading the body failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(&e);
    let mut last = String::new();
    while let Some(s) = source {
        let text = s.to_string();
        // Nested errors often repeat their parent's text; print each once.
        if !text.is_empty() && !last.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        last = text;
        source = s.source();
    }
    if connect {
        FetchError::Connect(msg)
    } else {
        FetchError::Network(msg)
    }
}
