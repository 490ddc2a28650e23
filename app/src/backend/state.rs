//! What every request handler shares: the database pool, settings, the clock and the
//! password hasher. Cheap to clone. Nothing here holds per-user state between requests, so
//! any number of server instances can serve one database.

use super::{clock::Clock, passwords::PasswordHasher, secret_key::SecretKey, settings::Settings};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    settings: Settings,
    clock: Arc<dyn Clock>,
    passwords: PasswordHasher,
    secret_key: SecretKey,
    image_permits: Arc<Semaphore>,
    /// Poked after mail is queued, so this instance's mail worker sends it at once.
    mail_wakeup: Arc<Notify>,
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        settings: Settings,
        clock: Arc<dyn Clock>,
        secret_key: SecretKey,
    ) -> Self {
        let passwords = PasswordHasher::new(settings.password_hashing_permits);
        // Image decoding is as heavy as password hashing: one at a time per core.
        let image_permits = Arc::new(Semaphore::new(settings.password_hashing_permits.max(1)));
        AppState(Arc::new(Inner {
            db,
            settings,
            clock,
            passwords,
            secret_key,
            image_permits,
            mail_wakeup: Arc::new(Notify::new()),
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

    /// Slots for image processing, one per core.
    pub fn image_permits(&self) -> &Arc<Semaphore> {
        &self.0.image_permits
    }

    /// Wakes this instance's mail worker; see `crate::backend::mail::wake`.
    pub fn mail_wakeup(&self) -> &Arc<Notify> {
        &self.0.mail_wakeup
    }

    /// The key for secrets encrypted at rest.
    pub fn secret_key(&self) -> &SecretKey {
        &self.0.secret_key
    }
}
