//! Fetches one feed document over HTTP (or from a configured `file://` URL):
//! conditional GET, decompression, redirects followed by hand, and every limit
//! enforced while the body streams in.
//!
//! Redirects are followed here rather than by reqwest so that each hop can be
//! checked (scheme, count, loops, the address it leads to) and so that we
//! know whether the whole chain was permanent, which is what decides if the
//! stored feed URL moves.
//!
//! # The address rule
//!
//! Configured URLs are trusted as written. Once any hop of a fetch has been
//! answered from a public address, every later hop must lead to a public
//! address too ([`limits::may_connect`]), unless `[daemon]
//! allow_private_redirects` is set: a server on the internet must not steer
//! trawl into the network it runs in. The rule is enforced before a request
//! is sent, twice over: an IP-literal target is checked directly, and a host
//! name goes through a second client whose resolver drops internal addresses
//! from DNS answers ([`GuardedResolver`]), so a public name that resolves to
//! 10.0.0.1 is refused too. The address each answer came from is checked
//! once more afterwards.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION, RETRY_AFTER,
};
use url::Url;

use crate::config::DaemonConfig;
use crate::limits;

/// The limits of one fetch.
#[derive(Debug, Clone)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// The whole fetch: every redirect hop and the body included.
    pub timeout: Duration,
    /// Largest body accepted, counted after decompression.
    pub max_bytes: u64,
    pub max_redirects: usize,
    /// Largest response head accepted (status line and headers).
    pub max_header_bytes: u64,
    /// Follow redirects from public to internal addresses (see the module docs).
    pub allow_private_redirects: bool,
    pub user_agent: String,
}

impl Limits {
    pub fn from_config(d: &DaemonConfig) -> Limits {
        Limits {
            connect_timeout: d.connect_timeout,
            timeout: d.timeout,
            max_bytes: d.max_feed_bytes,
            max_redirects: d.max_redirects,
            max_header_bytes: d.max_header_bytes,
            allow_private_redirects: d.allow_private_redirects,
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
    #[error("redirect loop: {0:?} was already visited")]
    RedirectLoop(String),
    /// A redirect from a public address toward an internal one.
    #[error(
        "redirect to {url:?} refused: {addr} is not a public address \
         (set allow_private_redirects to follow it)"
    )]
    PrivateRedirect { url: String, addr: String },
    #[error("body exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("response headers exceed the limit of {limit} bytes")]
    HeadersTooLarge { limit: u64 },
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

/// How names resolve and which addresses count as public. The default is
/// the system's resolver and [`limits::is_public`]; tests replace both, to
/// play a public server on 127.0.0.1 and a host name with chosen answers.
#[derive(Clone)]
pub struct Network {
    /// `None`: the system's resolver (getaddrinfo).
    pub resolver: Option<Arc<dyn Resolve>>,
    pub is_public: fn(IpAddr) -> bool,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            resolver: None,
            is_public: limits::is_public,
        }
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("custom_resolver", &self.resolver.is_some())
            .finish()
    }
}

/// The system's resolver, as reqwest's default uses it.
struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A resolver that keeps only public addresses of its inner resolver's
/// answer, and fails when none is left: what redirected hops use once the
/// fetch has reached a public address.
pub struct GuardedResolver {
    inner: Arc<dyn Resolve>,
    is_public: fn(IpAddr) -> bool,
}

/// Every address a name resolved to was internal.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to internal addresses ({addrs})")]
struct InternalOnly {
    host: String,
    addrs: String,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let answer = self.inner.resolve(name);
        let is_public = self.is_public;
        Box::pin(async move {
            let all: Vec<SocketAddr> = answer.await?.collect();
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let addrs = all
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Box::new(InternalOnly { host, addrs }) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client with trawl's settings. Cheap to share by reference; one per process.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// The same, with a resolver that answers public addresses only: for
    /// redirected hops after a public one.
    guarded: reqwest::Client,
    limits: Limits,
    is_public: fn(IpAddr) -> bool,
}

impl Fetcher {
    pub fn new(limits: Limits) -> Result<Fetcher, FetchError> {
        Fetcher::with_network(limits, Network::default())
    }

    /// A fetcher on another [`Network`] (tests).
    pub fn with_network(limits: Limits, network: Network) -> Result<Fetcher, FetchError> {
        let build = |resolver: Option<Arc<dyn Resolve>>| {
            let mut b = reqwest::Client::builder()
                .user_agent(limits.user_agent.clone())
                .connect_timeout(limits.connect_timeout)
                // Hops are followed in `fetch`, one checked request at a time.
                .redirect(reqwest::redirect::Policy::none())
                // A feed fetcher must not be steered by the environment's proxy settings by surprise.
                .no_proxy()
                .pool_idle_timeout(Duration::from_secs(30))
                // HTTP/2 can be held to the byte; HTTP/1 heads are capped by
                // hyper (about 400 KiB, 100 headers) while they stream in,
                // and checked against the limit when complete.
                .http2_max_header_list_size(
                    u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX),
                );
            if let Some(r) = resolver {
                b = b.dns_resolver(r);
            }
            b.build()
                .map_err(|e| FetchError::Network(format!("cannot build HTTP client: {e}")))
        };
        let inner = network
            .resolver
            .clone()
            .unwrap_or_else(|| Arc::new(SystemResolver));
        let guarded: Arc<dyn Resolve> = Arc::new(GuardedResolver {
            inner,
            is_public: network.is_public,
        });
        Ok(Fetcher {
            client: build(network.resolver)?,
            guarded: build(Some(guarded))?,
            limits,
            is_public: network.is_public,
        })
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
        let mut visited = HashSet::from([url.to_string()]);
        // Whether any hop so far was answered from a public address: from
        // then on, only public addresses may be reached.
        let mut reached_public = false;
        loop {
            let guard = reached_public && !self.limits.allow_private_redirects;
            let client = if guard { &self.guarded } else { &self.client };
            let mut resp = client
                .get(url.clone())
                .headers(headers.clone())
                .send()
                .await
                .map_err(|e| match internal_only(&e) {
                    Some(addrs) => FetchError::PrivateRedirect {
                        url: url.to_string(),
                        addr: addrs,
                    },
                    None => self.network_error(e),
                })?;
            if let Some(peer) = resp.remote_addr() {
                // After the fact, for what the resolver cannot see (a
                // connection from the pool, an address given in the URL).
                if guard && !(self.is_public)(peer.ip()) {
                    return Err(FetchError::PrivateRedirect {
                        url: url.to_string(),
                        addr: peer.ip().to_string(),
                    });
                }
                reached_public |= (self.is_public)(peer.ip());
            }
            if head_size(&resp) > self.limits.max_header_bytes {
                return Err(FetchError::HeadersTooLarge {
                    limit: self.limits.max_header_bytes,
                });
            }
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
                if !visited.insert(next.to_string()) {
                    return Err(FetchError::RedirectLoop(next.to_string()));
                }
                // An address written in the URL is never resolved: judge it here.
                if let Some(ip) = literal_ip(&next)
                    && !limits::may_connect(
                        reached_public,
                        ip,
                        self.limits.allow_private_redirects,
                        self.is_public,
                    )
                {
                    return Err(FetchError::PrivateRedirect {
                        url: next.to_string(),
                        addr: ip.to_string(),
                    });
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
            while let Some(chunk) = resp.chunk().await.map_err(|e| self.network_error(e))? {
                if doc.body.len() as u64 + chunk.len() as u64 > max {
                    return Err(FetchError::TooLarge { limit: max });
                }
                doc.body.extend_from_slice(&chunk);
            }
            return Ok(Response::Document(doc));
        }
    }

    /// [`network_error`], with hyper's refusal of an oversized HTTP/1 head
    /// reported as the header limit it stands in for.
    fn network_error(&self, e: reqwest::Error) -> FetchError {
        let err = network_error(e);
        match &err {
            FetchError::Network(m) | FetchError::Connect(m)
                if m.contains("message head is too large") =>
            {
                FetchError::HeadersTooLarge {
                    limit: self.limits.max_header_bytes,
                }
            }
            _ => err,
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

/// The size of a response head as sent: status line, and each header as
/// `name: value` with its line end.
fn head_size(resp: &reqwest::Response) -> u64 {
    let headers: usize = resp
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    (headers + 16) as u64
}

/// The address of a URL whose host is an IP address.
fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// The addresses a guarded resolver refused, when that is why `e` happened.
fn internal_only(e: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<InternalOnly>() {
            return Some(refused.addrs.clone());
        }
        source = s.source();
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every name with the same addresses.
    struct Fixed(Vec<IpAddr>);

    impl Resolve for Fixed {
        fn resolve(&self, _: Name) -> Resolving {
            let addrs: Vec<SocketAddr> = self.0.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
            Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
        }
    }

    async fn guarded(answer: &[&str]) -> Result<Vec<IpAddr>, String> {
        let resolver = GuardedResolver {
            inner: Arc::new(Fixed(answer.iter().map(|a| a.parse().unwrap()).collect())),
            is_public: limits::is_public,
        };
        let name: Name = "feeds.example.com".parse().unwrap();
        match resolver.resolve(name).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A public name whose DNS answer holds internal addresses (a rebinding
    /// attack, or a stale record): only its public addresses are used, and
    /// with none left the hop fails before any connection.
    #[tokio::test]
    async fn the_guarded_resolver_drops_internal_answers() {
        assert_eq!(
            guarded(&["10.0.0.1", "93.184.216.34", "::ffff:127.0.0.1"]).await,
            Ok(vec!["93.184.216.34".parse().unwrap()])
        );
        let refused = guarded(&["169.254.169.254", "fd00::1"]).await.unwrap_err();
        assert_eq!(
            refused,
            "feeds.example.com resolves only to internal addresses (169.254.169.254, fd00::1)"
        );
    }

    #[test]
    fn literal_addresses_are_read_from_the_url() {
        let ip = |u: &str| literal_ip(&Url::parse(u).unwrap());
        assert_eq!(
            ip("http://10.1.2.3:8080/x"),
            Some("10.1.2.3".parse().unwrap())
        );
        assert_eq!(ip("http://[::1]/x"), Some("::1".parse().unwrap()));
        // The url crate reads the odd IPv4 spellings as browsers do.
        assert_eq!(ip("http://0x7f.1/"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(ip("http://2130706433/"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(ip("http://example.com/"), None);
    }
}
