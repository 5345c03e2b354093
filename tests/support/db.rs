//! A fresh PostgreSQL database per test, migrated, dropped when the test ends.
//!
//! The server is the machine's PostgreSQL (127.0.0.1:5432, trust auth) unless
//! `LEADBOT_TEST_DATABASE_URL` points at another server's maintenance database.

use sqlx::{Connection, PgConnection, PgPool};

pub const SECRET: &str = "test-secret-for-reply-tokens";

pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    name: String,
    admin_url: String,
}

fn admin_url() -> String {
    std::env::var("LEADBOT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDb {
    /// A database on the machine's server (or `LEADBOT_TEST_DATABASE_URL`'s).
    pub async fn new() -> Self {
        Self::on_server(&admin_url()).await
    }

    /// A database on the server whose maintenance database `admin_url` names (e.g. a
    /// private cluster's `postgres`).
    pub async fn on_server(admin_url: &str) -> Self {
        let admin_url = admin_url.to_string();
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at {admin_url}: {e}\n\
                 The tests need a PostgreSQL server with trust auth on 127.0.0.1:5432 \
                 (Debian: apt-get install -y postgresql && \
                 pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), \
                 or LEADBOT_TEST_DATABASE_URL pointing at another server."
            )
        });
        let name = format!("leadbot_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("LEADBOT_TEST_DATABASE_URL must end with /DATABASE"),
        };
        let pool = leadbot::store::connect(&url)
            .await
            .expect("connect test db");
        leadbot::store::migrate(&pool)
            .await
            .expect("migrate test db");
        Self {
            pool,
            url,
            name,
            admin_url,
        }
    }

    /// Environment for running the `leadbot` binary against this database.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DATABASE_URL".into(), self.url.clone()),
            ("LEADBOT_BOT_SECRET".into(), SECRET.into()),
            ("LEADBOT_BOT_STAFF_DOMAINS".into(), "microsoft.test".into()),
        ]
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime guarantee: use a short-lived one on its own thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .ok()
            })
        })
        .join();
    }
}

/// The example directory of DESIGN.md plus a second partner, imported.
pub async fn seed_directory(pool: &PgPool) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/partners.toml"
    ))
    .expect("examples/partners.toml");
    let directory = leadbot::domain::directory::Directory::parse(&text).expect("example parses");
    leadbot::store::directory::import(pool, &directory)
        .await
        .expect("import example");
}

/// From now on, every lead for `customer` fails as SQLSTATE `sqlstate` says — data that
/// PostgreSQL refuses for good (23514, a check violation) or a fault a later attempt does
/// not meet (40001, a serialization failure) — until [`stop_failing_leads`].
pub async fn fail_leads_for(pool: &PgPool, customer: &str, sqlstate: &str) {
    let function = format!(
        "CREATE FUNCTION test_fail_lead() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.customer_email = '{customer}' THEN
                 RAISE EXCEPTION 'test: refused' USING ERRCODE = '{sqlstate}';
             END IF;
             RETURN NEW;
         END $$"
    );
    sqlx::query(sqlx::AssertSqlSafe(function))
        .execute(pool)
        .await
        .expect("create the failing function");
    sqlx::query(
        "CREATE TRIGGER test_fail_lead BEFORE INSERT ON leads
         FOR EACH ROW EXECUTE FUNCTION test_fail_lead()",
    )
    .execute(pool)
    .await
    .expect("create the failing trigger");
}

pub async fn stop_failing_leads(pool: &PgPool) {
    sqlx::query("DROP TRIGGER test_fail_lead ON leads")
        .execute(pool)
        .await
        .expect("drop the failing trigger");
}
