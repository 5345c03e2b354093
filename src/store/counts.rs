//! Row counts by key for /metrics (leads by state, outbox mail by state, inbound messages by
//! class and outcome), kept by the triggers of migration `row_counts`: a scrape sums a few
//! rows instead of counting a year of history.

use sqlx::{PgConnection, PgPool};

use super::{Doing, StoreError};

/// A table whose rows are counted by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Keyed by `[state]`.
    Leads,
    /// Keyed by `[state]`.
    Outbox,
    /// Keyed by `[class (or "unreadable"), outcome]`.
    InboundMessages,
}

impl Counted {
    fn table(self) -> &'static str {
        match self {
            Counted::Leads => "leads",
            Counted::Outbox => "outbox",
            Counted::InboundMessages => "inbound_messages",
        }
    }
}

/// The table's rows by key, keys in order (none with no rows).
pub async fn by_key(
    pool: &PgPool,
    counted: Counted,
) -> Result<Vec<(Vec<String>, i64)>, StoreError> {
    sqlx::query_as(COUNTS_SQL)
        .bind(counted.table())
        .fetch_all(pool)
        .await
        .doing("reading row counts")
}

/// [`by_key`]'s query (also shown by the load bench's EXPLAIN).
pub const COUNTS_SQL: &str = "SELECT key, sum(n)::bigint FROM row_counts WHERE tbl = $1
     GROUP BY key HAVING sum(n) <> 0 ORDER BY key";

/// Folds the deltas the triggers appended into one row per key. Safe beside writers (they
/// append rows this statement does not see) and beside another compaction (the rows it
/// deleted first are skipped here). Writes nothing (no commit to flush) when every key has
/// one row already, as on an idle tick.
pub async fn compact(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query(
        "WITH folded AS (
             DELETE FROM row_counts
             WHERE EXISTS (SELECT FROM row_counts GROUP BY tbl, key HAVING count(*) > 1)
             RETURNING tbl, key, n)
         INSERT INTO row_counts (tbl, key, n)
         SELECT tbl, key, sum(n) FROM folded GROUP BY tbl, key HAVING sum(n) <> 0",
    )
    .execute(conn)
    .await
    .doing("folding row counts")?;
    Ok(())
}
