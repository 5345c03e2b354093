//! A backlog waiting in the mailbox when `leadbot run` starts: how fast leads are committed,
//! beside pgbench running one INSERT and one UPDATE per transaction on one connection. The
//! daemon's peak RSS during the catch-up is read from /proc.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Sizes;
use crate::harness::{Bench, STEP_TIMEOUT, rfi, run_bounded, wait_until};
use crate::report::{Table, Unit, thousands};
use crate::seed::{PGBENCH_SCRIPT, floor_tables};

const FIGURE: &str = "IMAP backlog → leads committed";
const RSS_FIGURE: &str = "RSS of `run` under backlog (peak, VmHWM)";
const STOP_FIGURE: &str = "SIGTERM → exit of `run` while it sends the backlog's mail";

struct Catchup {
    /// Leads per second, from the first lead's time (read as its message was recorded) to
    /// the moment every lead was seen committed (polled every 20 ms). A batch's messages are
    /// recorded together at its start, so the last lead's own time would leave the last
    /// batch's work out.
    rate: f64,
    committed: usize,
    peak_rss_mb: f64,
    /// From SIGTERM to the exit, or `None` if it had to be killed.
    stopped_in: Option<Duration>,
}

pub async fn run(bench: &Bench, sizes: &Sizes, round: usize, floor_first: bool, table: &mut Table) {
    let messages = sizes.backlog;
    // The daemon leaves mail on its way to the maildirs: the floor waits until it is there.
    let (catchup, tps) = if floor_first {
        let tps = pgbench(bench, messages, round).await;
        (catch_up(bench, messages, round).await, tps)
    } else {
        let catchup = catch_up(bench, messages, round).await;
        bench.settle().await;
        (catchup, pgbench(bench, messages, round).await)
    };
    let figure = format!("{FIGURE} ({} RFIs)", thousands(messages));
    table.record(
        &figure,
        Unit::PerSecond,
        catchup.rate,
        Some(("pgbench, 1 INSERT + 1 UPDATE per txn, 1 client", tps)),
        "≥ 1,000 msg/s and ≥ 0.5 of pgbench",
    );
    if catchup.committed < messages {
        table.note(
            &figure,
            format!(
                "round {}: stopped at {} of {messages}",
                round + 1,
                catchup.committed
            ),
        );
    }
    table.record(
        RSS_FIGURE,
        Unit::Megabytes,
        catchup.peak_rss_mb,
        None,
        "≤ 150 MB",
    );
    // Not a speed, but a promise the speed-ups must keep (issue 14, point 2).
    let stop_seconds = catchup
        .stopped_in
        .map_or(STEP_TIMEOUT.as_secs_f64(), |d| d.as_secs_f64());
    table.record(STOP_FIGURE, Unit::Seconds, stop_seconds, None, "< 5 s");
    if catchup.stopped_in.is_none() {
        table.note(
            STOP_FIGURE,
            format!(
                "round {}: still running {STEP_TIMEOUT:?} after SIGTERM, killed",
                round + 1
            ),
        );
    }
}

async fn catch_up(bench: &Bench, messages: usize, round: usize) -> Catchup {
    let db = bench.fresh_database(&format!("backlog_{round}")).await;
    let user = bench.mailbox(&format!("backlog{round}"));
    bench
        .append(
            &user,
            (0..messages).map(|n| rfi(&format!("backlog{round}-{n}"))),
        )
        .await;
    let mut daemon = bench.daemon(&bench.env(&db, Some(&user))).await;
    // Generous: 20 messages a second at the least, and never under a minute.
    let limit = Duration::from_secs(60).max(Duration::from_millis(50 * messages as u64));
    let pool = &db.pool;
    let finished = wait_until(limit, Duration::from_millis(20), || async move {
        let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
            .fetch_one(pool)
            .await
            .ok()?;
        (leads as usize >= messages).then(Utc::now)
    })
    .await;
    let peak_rss_mb = daemon.memory_mb("VmHWM");
    // SIGTERM while the outbox is sending (not in its pause between flushes): "the message
    // in flight" is then one mail, and the promise is to stop within 5 s.
    let sending = wait_until(STEP_TIMEOUT, Duration::from_millis(5), || async {
        let last = bench.watch.last_accepted()?;
        let recent = last
            .elapsed()
            .is_ok_and(|age| age < Duration::from_millis(100));
        recent.then_some(())
    })
    .await;
    if sending.is_none() {
        eprintln!("backlog: the outbox sent nothing for {STEP_TIMEOUT:?}; stopping anyway");
    }
    let stopped_in = daemon.stop();
    if finished.is_none() {
        eprintln!("backlog: not caught up within {limit:?}");
    }
    let (committed, first): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT count(*), min(received_at) FROM leads")
            .fetch_one(&db.pool)
            .await
            .expect("count the leads");
    let rate = match (first, finished) {
        (Some(first), Some(last)) if committed > 1 && last > first => {
            committed as f64 / (last - first).as_seconds_f64()
        }
        _ => f64::NAN,
    };
    bench.release(db).await;
    Catchup {
        rate,
        committed: committed as usize,
        peak_rss_mb,
        stopped_in,
    }
}

/// pgbench's transactions per second (without connection time) for `transactions`
/// transactions of [`PGBENCH_SCRIPT`] on one connection.
async fn pgbench(bench: &Bench, transactions: usize, round: usize) -> f64 {
    let name = format!("pgbench_{round}");
    let (_, pool) = bench.create_database(&name, None).await;
    floor_tables(&pool).await;
    pool.close().await;
    let script = tempfile::NamedTempFile::new().expect("a file for pgbench's script");
    std::fs::write(script.path(), PGBENCH_SCRIPT).expect("write pgbench's script");
    let output = run_bounded(
        std::process::Command::new(bench.pg_program("pgbench"))
            .args(["-n", "-c", "1", "-t", &transactions.to_string(), "-f"])
            .arg(script.path())
            .args(bench.pg_connection_args(&name)),
        b"",
    );
    bench.drop_database(&name).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    pgbench_tps(&stdout).unwrap_or_else(|| panic!("no tps in pgbench's output: {stdout}"))
}

/// The figure of `tps = 1763.123 (without initial connection time)`.
fn pgbench_tps(output: &str) -> Option<f64> {
    output
        .lines()
        .filter(|line| line.contains("without initial connection time"))
        .find_map(|line| {
            line.strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
}
