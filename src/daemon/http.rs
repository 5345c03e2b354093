//! `/healthz` (the process is up), `/readyz` (it reaches PostgreSQL) and `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sqlx::PgPool;

use super::metrics::{DATABASE_BUDGET, Metrics};
use crate::workflow::listener::ListenerStats;

/// How long `/readyz` waits for PostgreSQL before answering 503.
const READY_BUDGET: std::time::Duration = DATABASE_BUDGET;

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

/// Reaches PostgreSQL within [`READY_BUDGET`]: a load balancer must not hang on us.
async fn ready(State(state): State<HttpState>) -> impl IntoResponse {
    let probe = sqlx::query("SELECT 1").execute(&state.pool);
    match tokio::time::timeout(READY_BUDGET, probe).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n".to_string()),
        Ok(Err(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("PostgreSQL unreachable: {error}\n"),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("PostgreSQL did not answer within {READY_BUDGET:?}\n"),
        ),
    }
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    let listener = state.listener.snapshot();
    let text = state
        .metrics
        .render(&state.pool, &listener, &state.listener.ingest_latency)
        .await;
    (
        StatusCode::OK,
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}
