//! What every request handler shares: the database pool, settings, the clock and the
//! password hasher. Cheap to clone. Nothing here holds per-user state between requests, so
//! any number of server instances can serve one database.

use super::{clock::Clock, passwords::PasswordHasher, secret_key::SecretKey, settings::Settings};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    settings: Settings,
    clock: Arc<dyn Clock>,
    passwords: PasswordHasher,
    secret_key: SecretKey,
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        settings: Settings,
        clock: Arc<dyn Clock>,
        secret_key: SecretKey,
    ) -> Self {
        let passwords = PasswordHasher::new(settings.password_hashing_permits);
        AppState(Arc::new(Inner {
            db,
            settings,
            clock,
            passwords,
            secret_key,
        }))
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.0.db
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    pub fn passwords(&self) -> &PasswordHasher {
        &self.0.passwords
    }

    /// The key for secrets encrypted at rest.
    pub fn secret_key(&self) -> &SecretKey {
        &self.0.secret_key
    }
}
