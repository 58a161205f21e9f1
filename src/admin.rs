//! The optional admin listener of the daemon (`[daemon] listen`):
//! `GET /healthz`, `GET /metrics` (Prometheus text), and
//! `POST /feeds/{name}/fetch` to fetch one feed now.
//!
//! It never listens on a non-loopback address unless `[daemon] admin_token`
//! is set, and then every request must carry `Authorization: Bearer TOKEN`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::daemon::Trigger;
use crate::ingest::{Fetched, Report};
use crate::metrics::Metrics;
use crate::store::Counts;

/// `/healthz` answers 503 when the scheduler loop has not turned for this
/// long (it turns at least every few seconds).
const STALLED_AFTER: Duration = Duration::from_secs(90);

#[derive(Clone)]
struct App {
    metrics: Arc<Metrics>,
    triggers: mpsc::Sender<Trigger>,
    token: Option<String>,
}

/// Binds `addr` and serves the admin API in the background until the
/// runtime stops.
pub async fn serve(
    addr: SocketAddr,
    token: Option<String>,
    metrics: Arc<Metrics>,
    triggers: mpsc::Sender<Trigger>,
) -> Result<tokio::task::JoinHandle<()>> {
    if !addr.ip().is_loopback() && token.is_none() {
        bail!(
            "refusing to listen on {addr}: a non-loopback admin address needs [daemon] admin_token"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/feeds/{name}/fetch", post(fetch_now))
        .with_state(App {
            metrics,
            triggers,
            token,
        });
    tracing::info!(%addr, "admin listener up");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "admin listener failed");
        }
    }))
}

fn authorized(app: &App, headers: &HeaderMap) -> bool {
    let Some(token) = &app.token else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
}

/// Compares without an early exit, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "missing or wrong bearer token\n").into_response()
}

async fn healthz(State(app): State<App>, headers: HeaderMap) -> Response {
    if !authorized(&app, &headers) {
        return unauthorized();
    }
    let age = app.metrics.loop_age();
    if age > STALLED_AFTER {
        let msg = format!("scheduler loop stalled for {}s\n", age.as_secs());
        (StatusCode::SERVICE_UNAVAILABLE, msg).into_response()
    } else {
        (StatusCode::OK, "ok\n").into_response()
    }
}

async fn metrics_text(State(app): State<App>, headers: HeaderMap) -> Response {
    if !authorized(&app, &headers) {
        return unauthorized();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

async fn fetch_now(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&app, &headers) {
        return unauthorized();
    }
    let (reply, answer) = oneshot::channel();
    if app.triggers.send(Trigger { name, reply }).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping\n").into_response();
    }
    match answer.await {
        Ok(Ok(report)) => axum::Json(ReportJson::from(&report)).into_response(),
        Ok(Err(e)) if e.starts_with("no feed named") => {
            (StatusCode::NOT_FOUND, format!("{e}\n")).into_response()
        }
        Ok(Err(e)) => (StatusCode::CONFLICT, format!("{e}\n")).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping\n").into_response(),
    }
}

/// A [`Report`] as the admin API writes it and `trawl fetch --via` reads it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReportJson {
    pub name: String,
    pub url: String,
    /// `stored`, `not_modified` or `error`.
    pub outcome: String,
    #[serde(default)]
    pub new: usize,
    /// Of `new`, copies of stored stories (near-duplicates).
    #[serde(default)]
    pub near: usize,
    #[serde(default)]
    pub updated: usize,
    #[serde(default)]
    pub duplicate: usize,
    #[serde(default)]
    pub unchanged: usize,
    #[serde(default)]
    pub entries: usize,
    #[serde(default)]
    pub warnings: Vec<String>,
    pub moved_to: Option<String>,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

impl From<&Report> for ReportJson {
    fn from(r: &Report) -> Self {
        let mut j = ReportJson {
            name: r.name.clone(),
            url: r.url.clone(),
            outcome: String::new(),
            new: 0,
            near: 0,
            updated: 0,
            duplicate: 0,
            unchanged: 0,
            entries: 0,
            warnings: Vec::new(),
            moved_to: None,
            error: None,
            elapsed_ms: r.elapsed.as_millis() as u64,
        };
        match &r.result {
            Ok(Fetched::NotModified) => j.outcome = "not_modified".into(),
            Ok(Fetched::Stored {
                counts,
                entries,
                warnings,
                moved_to,
            }) => {
                j.outcome = "stored".into();
                (j.new, j.near, j.updated, j.duplicate, j.unchanged) = (
                    counts.new,
                    counts.near,
                    counts.updated,
                    counts.duplicate,
                    counts.unchanged,
                );
                j.entries = *entries;
                j.warnings = warnings.clone();
                j.moved_to = moved_to.clone();
            }
            Err(e) => {
                j.outcome = "error".into();
                j.error = Some(e.clone());
            }
        }
        j
    }
}

impl From<ReportJson> for Report {
    fn from(j: ReportJson) -> Self {
        let result = match j.outcome.as_str() {
            "not_modified" => Ok(Fetched::NotModified),
            "stored" => Ok(Fetched::Stored {
                counts: Counts {
                    new: j.new,
                    near: j.near,
                    updated: j.updated,
                    duplicate: j.duplicate,
                    unchanged: j.unchanged,
                },
                entries: j.entries,
                warnings: j.warnings,
                moved_to: j.moved_to,
            }),
            _ => Err(j.error.unwrap_or_else(|| "unknown error".into())),
        };
        Report {
            name: j.name,
            url: j.url,
            result,
            elapsed: Duration::from_millis(j.elapsed_ms),
        }
    }
}
