//! `leadbot run`: the long-running process. It composes the parts — the outbox worker, the
//! scheduler, the IMAP listener and the HTTP endpoints — as tokio tasks that share one
//! PostgreSQL pool and stop together on SIGTERM or SIGINT: they claim no new work, finish
//! the unit in flight (one transaction), and whatever is still running after a short grace
//! is abandoned — it rolls back and is done again after the next start.

pub mod check;
pub mod http;
pub mod metrics;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::store::{self, StoreError};
use crate::transport::MailTransport;
use crate::workflow::listener::{self, ListenerStats};
use crate::workflow::outbox::{self, Courier};
use crate::workflow::scheduler;
use metrics::Metrics;

/// How long the outbox worker rests when nothing woke it. Queued mail wakes it at once
/// (LISTEN/NOTIFY, `outbox::wake_on_queued`); this poll only finds retries come due (they
/// are at least 24 s apart) and mail queued while the database connection was lost.
const OUTBOX_POLL: Duration = Duration::from_secs(15);
/// After a database error, wait before trying again (the error is logged, not fatal).
const ERROR_PAUSE: Duration = Duration::from_secs(5);
/// After SIGTERM, how long the work in flight (one ingest, one send, one scheduler rule)
/// may take to finish; past it, it is abandoned: its transaction rolls back, so the
/// message stays unflagged and the mail queued, to be done again. With the pool's close
/// this keeps the whole stop under 5 s, well inside systemd's TimeoutStopSec.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);
/// How long closing the database pool may take after the tasks ended.
const POOL_CLOSE_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {address}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the SMTP configuration is unusable")]
    Smtp(#[from] crate::transport::smtp::SmtpConfigError),
    #[error("the HTTP server failed")]
    Http(#[source] std::io::Error),
}

/// Runs until SIGTERM/SIGINT; returns once every task has finished its work in flight.
pub async fn run(config: Config) -> Result<(), DaemonError> {
    let config = Arc::new(config);
    let url = config.database_url.expose();
    store::create_database_if_missing(url).await?;
    let pool = store::connect(url).await?;
    store::migrate(&pool).await?;
    let metrics = Arc::new(Metrics::default());
    let (stop, stopped) = watch::channel(false);

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            address: config.http.listen,
            source,
        })?;
    tracing::info!(listen = %config.http.listen, "leadbot is running");
    let listener_stats = Arc::new(ListenerStats::default());
    let mut courier = Courier::new(MailTransport::from_config(&config)?, &config);
    let reading = listener_stats.clone();
    courier.yield_to = Some(Arc::new(move || reading.is_catching_up()));

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(outbox_worker(
        pool.clone(),
        courier,
        metrics.clone(),
        stopped.clone(),
    ));
    tasks.spawn(scheduler_loop(
        pool.clone(),
        config.clone(),
        metrics.clone(),
        stopped.clone(),
    ));
    if config.imap.is_some() {
        tasks.spawn(imap_listener(
            pool.clone(),
            config.clone(),
            listener_stats.clone(),
            stopped.clone(),
        ));
    } else {
        tracing::info!("no [imap] section: mail arrives through `leadbot deliver`");
    }
    tasks.spawn(serve_http(
        listener,
        http::HttpState {
            pool: pool.clone(),
            metrics: metrics.clone(),
            listener: listener_stats,
        },
        stopped.clone(),
    ));
    wait_for_signal().await;
    tracing::info!("stopping: finishing the work in flight");
    let _ = stop.send(true);
    let finish = async {
        while let Some(result) = tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a leadbot task ended abnormally");
            }
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, finish).await.is_err() {
        tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "abandoning the work still in flight: it rolls back and will be done again"
        );
        tasks.shutdown().await;
    }
    if tokio::time::timeout(POOL_CLOSE_GRACE, pool.close())
        .await
        .is_err()
    {
        tracing::warn!("the database pool did not close in time; exiting anyway");
    }
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Sleeps for `pause`, or less if a stop is asked for; true when stopping.
pub async fn rest(stopped: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    if *stopped.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(pause) => *stopped.borrow(),
        _ = stopped.changed() => true,
    }
}

/// Sends due mail until stopped: at once when mail is queued, else every [`OUTBOX_POLL`].
/// Several processes may run this: rows are claimed with SKIP LOCKED, so each mail goes
/// out once.
async fn outbox_worker(
    pool: PgPool,
    courier: Courier,
    metrics: Arc<Metrics>,
    mut stopped: watch::Receiver<bool>,
) {
    let wake = Arc::new(Notify::new());
    // A JoinSet aborts the listener when this worker ends or is abandoned.
    let mut listening = tokio::task::JoinSet::new();
    listening.spawn(outbox::wake_on_queued(pool.clone(), wake.clone()));
    loop {
        let stop = || *stopped.borrow();
        let pause = match outbox::flush_until(&pool, &courier, Utc::now(), stop).await {
            Ok(report) => {
                Metrics::add(&metrics.outbox_sent, report.sent);
                Metrics::add(&metrics.outbox_retried, report.retried);
                Metrics::add(&metrics.outbox_failed, report.failed);
                if report.sent + report.retried + report.failed > 0 {
                    tracing::info!(
                        sent = report.sent,
                        retried = report.retried,
                        failed = report.failed,
                        "outbox"
                    );
                }
                OUTBOX_POLL
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "outbox worker: will retry");
                ERROR_PAUSE
            }
        };
        tokio::select! {
            stopping = rest(&mut stopped, pause) => if stopping { return },
            () = wake.notified() => {}
        }
    }
}

/// Runs the scheduler's due work every `tick_interval`. Several processes may: every rule
/// claims its leads with SKIP LOCKED and sets a marker, so nothing fires twice.
async fn scheduler_loop(
    pool: PgPool,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    mut stopped: watch::Receiver<bool>,
) {
    let interval = config
        .schedule
        .tick_interval
        .to_std()
        .unwrap_or(Duration::from_secs(60));
    loop {
        let stop = || *stopped.borrow();
        match scheduler::tick_until(&pool, &config, Utc::now(), stop).await {
            Ok(report) => {
                Metrics::add(&metrics.scheduler_ticks, 1);
                if report.did_nothing() {
                    tracing::debug!("scheduler: nothing due");
                } else {
                    tracing::info!(%report, "scheduler");
                }
            }
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "scheduler: will retry"),
        }
        if rest(&mut stopped, interval).await {
            return;
        }
    }
}

/// The IMAP listener; it retries what can be retried itself, so an error here is a
/// configuration problem worth a loud log line (the rest of the daemon keeps running).
async fn imap_listener(
    pool: PgPool,
    config: Arc<Config>,
    stats: Arc<ListenerStats>,
    stopped: watch::Receiver<bool>,
) {
    if let Err(error) = listener::run_listener(pool, config, stopped, stats.clone()).await {
        let reason = format!("{error:#}");
        tracing::error!(error = %reason, "the IMAP listener stopped; /healthz now fails");
        stats.record_stop(reason);
    }
}

async fn serve_http(
    listener: tokio::net::TcpListener,
    state: http::HttpState,
    mut stopped: watch::Receiver<bool>,
) {
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    if let Err(error) = axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(%error, "the HTTP server failed");
    }
}
