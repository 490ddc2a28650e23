//! Periodic clean-up of rows that have outlived their purpose: expired sessions, idle rate
//! limit windows, stale throttle counters, old security events, old sent or failed mail, and
//! email-change links a week past their expiry (kept that long, with their addresses blanked,
//! so an expired link can still say that it expired).
//! Every statement is idempotent, so several server instances may run it at once.

use super::{email_change, mail, rate_limit, security_events, sessions, state::AppState, throttle};
use sea_orm::DbErr;
use std::time::Duration;

pub async fn run_once(state: &AppState) -> Result<(), DbErr> {
    let now = state.clock().now();
    let settings = state.settings();
    let sessions = sessions::delete_expired(state.db(), settings, now).await?;
    let windows =
        rate_limit::delete_stale(state.db(), Duration::from_secs(24 * 60 * 60), now).await?;
    let throttles = throttle::delete_stale(state.db(), &settings.sign_in_throttle, now).await?;
    let events = security_events::delete_expired(state.db(), now).await?;
    let mail = mail::delete_finished(state.db(), now).await?;
    let email_links = email_change::delete_expired(state.db(), now).await?;
    tracing::debug!(
        sessions,
        windows,
        throttles,
        events,
        mail,
        email_links,
        "maintenance done"
    );
    Ok(())
}
