//! The ImportOps Account schema.
//!
//! Every migration runs in its own transaction on both SQLite and PostgreSQL, so a failed
//! migration leaves the schema as it was. Downgrades are refused: rolling the schema back
//! under a running product loses data, so a mistake is fixed by a new forward migration.
//!
//! Times are stored as `BIGINT` milliseconds since the Unix epoch. Both databases compare
//! integers the same way, which keeps expiry and throttling queries identical on each.

pub use sea_orm_migration::prelude::*;

mod m20261203_000001_accounts;
mod m20261203_000002_avatars;
mod m20261203_000003_mail_outbox;
mod m20261203_000004_email_changes;
mod m20261203_000005_session_revocation;
mod m20261203_000006_two_factor;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261203_000001_accounts::Migration),
            Box::new(m20261203_000002_avatars::Migration),
            Box::new(m20261203_000003_mail_outbox::Migration),
            Box::new(m20261203_000004_email_changes::Migration),
            Box::new(m20261203_000005_session_revocation::Migration),
            Box::new(m20261203_000006_two_factor::Migration),
        ]
    }
}

/// The error every `down` returns.
pub(crate) fn downgrade_refused() -> DbErr {
    DbErr::Migration("downgrades are not supported; write a forward migration instead".into())
}
