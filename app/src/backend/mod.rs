//! The account domain, compiled into the server only.
//!
//! Everything that touches the database or a secret lives here, organised by what the
//! product calls things (accounts, sessions, passwords, the security log). Server functions
//! in [`crate::api`] are thin wrappers around these modules.

pub mod account_security;
pub mod accounts;
pub mod avatar;
pub mod clock;
pub mod db;
pub mod email_change;
pub mod endpoint;
pub mod entities;
pub mod error;
pub mod mail;
pub mod maintenance;
pub mod password_change;
pub mod passwords;
pub mod profile;
pub mod rate_limit;
pub mod request;
pub mod secret_key;
pub mod security_events;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod team;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
