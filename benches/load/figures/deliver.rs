//! The MTA pipe: one `leadbot deliver` process per RFI, beside one `psql` process per
//! INSERT of ~1 KB, alternated message by message.

use std::process::Command;
use std::time::Instant;

use crate::Sizes;
use crate::harness::{Bench, rfi, run_bounded};
use crate::report::{Table, Unit, median};
use crate::seed::{PSQL_INSERT, floor_tables};

pub async fn run(bench: &Bench, sizes: &Sizes, round: usize, table: &mut Table) {
    let db = bench.fresh_database(&format!("deliver_{round}")).await;
    floor_tables(&db.pool).await;
    let env = bench.env(&db, None);
    let psql_args = bench.pg_connection_args(&db.name);
    let (mut deliveries, mut inserts) = (Vec::new(), Vec::new());
    for n in 0..sizes.deliveries {
        let raw = rfi(&format!("deliver{round}-{n}"));
        let started = Instant::now();
        let output = bench.leadbot(&env, &["deliver"], &raw);
        deliveries.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(
            output.status.success(),
            "leadbot deliver failed: {output:?}"
        );

        let started = Instant::now();
        let output = run_bounded(
            Command::new(bench.pg_program("psql"))
                .args(&psql_args)
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", PSQL_INSERT]),
            b"",
        );
        inserts.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(output.status.success(), "psql failed: {output:?}");
    }
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&db.pool)
        .await
        .expect("count the leads");
    assert_eq!(
        leads as usize, sizes.deliveries,
        "every delivered RFI is a lead"
    );
    bench.release(db).await;
    table.record(
        "`deliver`, one message per process (median)",
        Unit::Millis,
        median(&deliveries).unwrap_or(f64::NAN),
        Some((
            "one `psql` INSERT per process",
            median(&inserts).unwrap_or(f64::NAN),
        )),
        "keep ≤ 3× the floor",
    );
}
