//! The private PostgreSQL that the demo falls back on and the reliability tests restart and
//! crash: it serves, survives an administrator's restart and a crash, and leaves nothing
//! behind — no process, no folder.

use leadbot::store::private_cluster::PrivateCluster;
use sqlx::{Connection, PgConnection};

async fn select_one(url: &str) -> Result<i32, sqlx::Error> {
    let mut connection = PgConnection::connect(url).await?;
    sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut connection)
        .await
}

fn processes_using(folder: &std::path::Path) -> usize {
    let needle = folder.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&needle))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_cluster_serves_restarts_recovers_and_leaves_nothing() {
    let mut cluster = PrivateCluster::start().unwrap_or_else(|e| panic!("{e}"));
    let url = cluster.url("postgres");
    let root = cluster.root().to_path_buf();
    assert_eq!(select_one(&url).await.expect("the new server answers"), 1);

    // An administrator's restart: a session open across it is ended with 57P01.
    let mut session = PgConnection::connect(&url).await.unwrap();
    cluster.restart().expect("restart");
    let error = sqlx::query("SELECT 1")
        .execute(&mut session)
        .await
        .expect_err("the old session was terminated");
    assert!(
        matches!(&error, sqlx::Error::Database(db) if db.code().as_deref() == Some("57P01"))
            || matches!(error, sqlx::Error::Io(_)),
        "{error:?}"
    );
    assert_eq!(select_one(&url).await.expect("answers after a restart"), 1);

    // A crash: nothing answers, then the next start recovers on the same port.
    cluster.crash().expect("crash");
    assert!(select_one(&url).await.is_err(), "a crashed server answers");
    cluster.start_again().expect("start after a crash");
    assert_eq!(select_one(&url).await.expect("answers after recovery"), 1);

    drop(cluster);
    assert!(!root.exists(), "{} remains", root.display());
    assert_eq!(processes_using(&root), 0, "a server process remains");
}
