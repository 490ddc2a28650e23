//! A fresh database per test, on SQLite or PostgreSQL.
//!
//! SQLite gets a new file in a temporary folder. PostgreSQL gets a new schema in the
//! database named by `IMPORTOPS_TEST_POSTGRES_URL` (default: the local server, user
//! `postgres`), dropped when the test finishes; schemas left behind by crashed runs are
//! swept after an hour. When PostgreSQL is unreachable the PostgreSQL variant of a test is
//! skipped with a message, except under CI (`CI=true`), where that is a failure.

use super::db::{self, ConnectSettings};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use std::time::{SystemTime, UNIX_EPOCH};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Sqlite,
    Postgres,
}

pub struct TestDatabase {
    pub db: DatabaseConnection,
    /// A URL the server can be started with to reach this database.
    pub url: String,
    /// PostgreSQL only: the schema that isolates this test.
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

pub fn postgres_url() -> String {
    std::env::var("IMPORTOPS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl TestDatabase {
    /// A migrated database of the given flavour, or `None` when PostgreSQL is unavailable
    /// outside CI.
    pub async fn new(flavor: Flavor) -> Option<Self> {
        match flavor {
            Flavor::Sqlite => Some(Self::sqlite().await),
            Flavor::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = db::connect(ConnectSettings {
            url: &url,
            max_connections: 8,
            schema: None,
        })
        .await
        .expect("open the SQLite test database");
        db::migrate(&db)
            .await
            .expect("migrate the SQLite test database");
        TestDatabase {
            db,
            url,
            schema: None,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> Option<Self> {
        let url = postgres_url();
        let admin = match db::connect(ConnectSettings {
            url: &url,
            max_connections: 1,
            schema: None,
        })
        .await
        {
            Ok(admin) => admin,
            Err(error) if !in_ci() => {
                eprintln!(
                    "PostgreSQL unreachable at {url} ({error}); skipping the PostgreSQL variant"
                );
                return None;
            }
            Err(error) => {
                panic!("PostgreSQL is required under CI but unreachable at {url}: {error}")
            }
        };
        sweep_old_schemas(&admin)
            .await
            .expect("sweep old test schemas");

        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let schema = format!("test_{created}_{}", super::tokens::short_id());
        execute(&admin, &format!("CREATE SCHEMA \"{schema}\""))
            .await
            .expect("create the test schema");
        let db = db::connect(ConnectSettings {
            url: &url,
            max_connections: 8,
            schema: Some(&schema),
        })
        .await
        .expect("connect to the test schema");
        db::migrate(&db)
            .await
            .expect("migrate the PostgreSQL test schema");
        let url_with_schema = format!(
            "{url}{}options=-c%20search_path%3D{schema}",
            if url.contains('?') { "&" } else { "?" }
        );
        let _ = admin.close().await;
        Some(TestDatabase {
            db,
            url: url_with_schema,
            schema: Some(schema),
            _dir: None,
        })
    }
}

impl Drop for TestDatabase {
    /// Drops the PostgreSQL schema, even when the test panicked. Runs on its own thread and
    /// runtime because `Drop` cannot await; SQLite's folder is removed with the value.
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else {
            return;
        };
        let url = postgres_url();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let settings = ConnectSettings {
                    url: &url,
                    max_connections: 1,
                    schema: None,
                };
                if let Ok(admin) = db::connect(settings).await {
                    let _ = execute(
                        &admin,
                        &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
                    )
                    .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn execute(db: &DatabaseConnection, sql: &str) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await?;
    Ok(())
}

/// Drops test schemas more than an hour old (left by tests that panicked).
async fn sweep_old_schemas(admin: &DatabaseConnection) -> Result<(), DbErr> {
    let rows = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'test\\_%'",
        ))
        .await?;
    let hour_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        - 3600;
    for row in rows {
        let name: String = row.try_get("", "nspname")?;
        let created = name.split('_').nth(1).and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|created| created < hour_ago) {
            execute(admin, &format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).await?;
        }
    }
    Ok(())
}
