//! A leadbot database on a private PostgreSQL that a test may stop, restart or crash
//! (never the machine's shared server).

use leadbot::store::private_cluster::PrivateCluster;
use sqlx::PgPool;

use super::db::{SECRET, seed_directory};

pub struct ClusterDb {
    pub cluster: PrivateCluster,
    pub url: String,
    /// A pool for the test's own checks; it reconnects after a restart.
    pub pool: PgPool,
}

impl ClusterDb {
    /// A fresh private server with the `leadbot` database migrated and the example
    /// directory imported.
    pub async fn new() -> Self {
        let cluster = tokio::task::spawn_blocking(PrivateCluster::start)
            .await
            .expect("start thread")
            .unwrap_or_else(|e| panic!("{e}"));
        let url = cluster.url("leadbot");
        leadbot::store::create_database_if_missing(&url)
            .await
            .expect("create the leadbot database");
        let pool = leadbot::store::connect(&url).await.expect("connect");
        leadbot::store::migrate(&pool).await.expect("migrate");
        seed_directory(&pool).await;
        Self { cluster, url, pool }
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DATABASE_URL".into(), self.url.clone()),
            ("LEADBOT_BOT_SECRET".into(), SECRET.into()),
            ("LEADBOT_BOT_STAFF_DOMAINS".into(), "microsoft.test".into()),
        ]
    }

    /// Runs a blocking cluster operation (stop, start, crash) without stalling the other
    /// tasks of a multi-threaded test runtime.
    pub fn operate<T>(&mut self, what: impl FnOnce(&mut PrivateCluster) -> T) -> T {
        tokio::task::block_in_place(|| what(&mut self.cluster))
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}
