//! Connecting to SQLite or PostgreSQL, and the transaction rules both share.

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use std::{path::Path, time::Duration};

/// Which database a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err("the database URL must start with sqlite:, postgres:// or postgresql://".into())
        }
    }
}

/// The file a `sqlite:` URL names, if it names one (not `sqlite::memory:`).
pub fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| Path::new(path))
}

pub struct ConnectSettings<'a> {
    pub url: &'a str,
    pub max_connections: u32,
    /// PostgreSQL only: the schema to use (tests give each database its own).
    pub schema: Option<&'a str>,
}

/// Opens a connection pool. For SQLite the file and its folder are created when missing,
/// and every connection uses write-ahead logging with a 5 second busy timeout, so readers
/// never block the writer and concurrent writers wait instead of failing.
pub async fn connect(settings: ConnectSettings<'_>) -> Result<DatabaseConnection, DbErr> {
    let backend = Backend::of_url(settings.url).map_err(DbErr::Custom)?;
    if let Some(parent) = sqlite_file(settings.url).and_then(Path::parent)
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create the folder {}: {e}",
                parent.display()
            ))
        })?;
    }

    let mut options = ConnectOptions::new(settings.url);
    options
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if backend == Backend::Sqlite {
        options.map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    }
    if let Some(schema) = settings.schema {
        options.set_schema_search_path(schema);
    }
    Database::connect(options).await
}

/// Brings the schema up to date. Each migration is its own transaction.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of one failing
/// when it tries to upgrade a read lock.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Whether an error is a unique-constraint violation (for example an email already in use
/// by a concurrent sign-up).
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether an error means the database could not be reached at all: no connection to be
/// had, or one that broke under a query (the server restarted, the network dropped). Those
/// are answered with 503; the pool reconnects by itself once the database is back.
pub fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error as SqlxError};
    match error {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(cause)) | DbErr::Exec(RuntimeErr::SqlxError(cause)) => {
            matches!(
                **cause,
                SqlxError::Io(_)
                    | SqlxError::PoolTimedOut
                    | SqlxError::PoolClosed
                    | SqlxError::WorkerCrashed
            )
        }
        _ => false,
    }
}

/// Checks that the database answers; used by `/healthz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_found_in_urls() {
        assert_eq!(
            sqlite_file("sqlite://data/importops.db"),
            Some(Path::new("data/importops.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:/tmp/x.db?mode=rwc"),
            Some(Path::new("/tmp/x.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://localhost/x"), None);
    }

    #[test]
    fn broken_connections_count_as_unavailable_and_bad_queries_do_not() {
        use sea_orm::{RuntimeErr, sqlx::Error as SqlxError};
        use std::sync::Arc;
        let query = |cause: SqlxError| DbErr::Query(RuntimeErr::SqlxError(Arc::new(cause)));
        assert!(is_unavailable(&query(SqlxError::Io(
            std::io::Error::other("connection reset")
        ))));
        assert!(is_unavailable(&query(SqlxError::PoolTimedOut)));
        assert!(is_unavailable(&DbErr::Exec(RuntimeErr::SqlxError(
            Arc::new(SqlxError::PoolClosed)
        ))));
        assert!(!is_unavailable(&query(SqlxError::RowNotFound)));
        assert!(!is_unavailable(&DbErr::RecordNotFound("x".into())));
    }

    #[test]
    fn backends_are_recognised() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgresql://h/db"), Ok(Backend::Postgres));
        assert!(Backend::of_url("mysql://h/db").is_err());
    }
}
