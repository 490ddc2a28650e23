//! Database rows, one module per table. The schema itself is defined by the migrations
//! crate; these mirror it for queries.

pub mod avatars;
pub mod email_changes;
pub mod email_reverts;
pub mod organisations;
pub mod outbox;
pub mod rate_limits;
pub mod recovery_codes;
pub mod security_events;
pub mod sessions;
pub mod sign_in_throttles;
pub mod two_factor;
pub mod users;
