//! `/healthz` (the process is up), `/readyz` (it reaches PostgreSQL) and `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sqlx::PgPool;

use super::metrics::Metrics;
use crate::workflow::listener::ListenerStats;

#[derive(Clone)]
pub struct HttpState {
    pub pool: PgPool,
    pub metrics: Arc<Metrics>,
    pub listener: Arc<ListenerStats>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Up, and reading mail: a listener that gave up (bad credentials, missing mailbox)
/// makes the process unhealthy, so monitoring notices that mail is no longer read.
async fn health(State(state): State<HttpState>) -> impl IntoResponse {
    match state.listener.stopped_because() {
        None => (StatusCode::OK, "ok\n".to_string()),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the IMAP listener stopped: {reason}\n"),
        ),
    }
}

async fn ready(State(state): State<HttpState>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(&state.pool).await {
        Ok(_) => (StatusCode::OK, "ready\n".to_string()),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("PostgreSQL unreachable: {error}\n"),
        ),
    }
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    let listener = state.listener.snapshot();
    let rendered = state
        .metrics
        .render(&state.pool, &listener, &state.listener.ingest_latency)
        .await;
    match rendered {
        Ok(text) => (
            StatusCode::OK,
            [("content-type", "text/plain; version=0.0.4")],
            text,
        ),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/plain; version=0.0.4")],
            format!("# {error}\n"),
        ),
    }
}
