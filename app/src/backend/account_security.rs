//! Confirming the password for sensitive actions, the list of signed-in sessions, and the
//! security activity log as the person sees them.

use super::{
    accounts,
    clock::Timestamp,
    db,
    entities::security_events,
    error::Result,
    request::ClientInfo,
    security_events::{Kind, NewEvent, label},
    sessions::{self, Authenticated, SessionToken},
    state::AppState,
};
use crate::{
    api::{ActivityEntry, ActivityPage, EndReason, SessionInfo},
    error::AppError,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// Entries per page of "Recent security activity".
pub const ACTIVITY_PAGE: u64 = 20;

/// "Confirm it's you": checks the password (throttled like sign-in), opens the sudo window
/// and gives this session a new token. Returns the token for the cookie.
pub async fn confirm_password(
    state: &AppState,
    auth: &Authenticated,
    password: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<SessionToken> {
    accounts::verify_current_password(state, &auth.user, password, client, now).await?;
    let txn = db::begin_write(state.db()).await?;
    let token = sessions::renew(&txn, auth.session.id, now).await?;
    let event = NewEvent::for_user(
        Kind::PasswordConfirmed,
        auth.user.id,
        auth.user.organisation_id,
        client,
    );
    super::security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    Ok(token)
}

/// Every live session of the person, this device first.
pub async fn list_sessions(
    state: &AppState,
    auth: &Authenticated,
    now: Timestamp,
) -> Result<Vec<SessionInfo>> {
    let rows = sessions::live_for(state.db(), state.settings(), auth.user.id, now).await?;
    let mut list: Vec<SessionInfo> = rows
        .into_iter()
        .map(|row| SessionInfo {
            id: row.id,
            device: sessions::device_label(row.user_agent.as_deref()),
            ip: row.ip,
            signed_in_at: row.created_at.as_millis(),
            last_active_at: row.last_seen_at.as_millis(),
            this_device: row.id == auth.session.id,
        })
        .collect();
    list.sort_by_key(|session| !session.this_device);
    Ok(list)
}

/// "Sign out" for one session in the list (sudo mode).
pub async fn revoke_session(
    state: &AppState,
    auth: &Authenticated,
    session_id: i64,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<()> {
    sessions::require_recent_password(auth, state.settings(), now)?;
    if session_id == auth.session.id {
        return Err(AppError::Conflict {
            field: None,
            message: "To sign out of this device, use Sign out in the menu.".into(),
        }
        .into());
    }
    let txn = db::begin_write(state.db()).await?;
    let ended = sessions::revoke(
        &txn,
        auth.user.id,
        session_id,
        EndReason::SignedOutElsewhere,
    )
    .await?;
    if !ended {
        return Err(AppError::NotFound.into());
    }
    let mut event = NewEvent::for_user(
        Kind::SessionRevoked,
        auth.user.id,
        auth.user.organisation_id,
        client,
    );
    event.detail = Some(serde_json::json!({ "sessions": 1 }));
    super::security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    Ok(())
}

/// "Sign out all other sessions" (sudo mode). Returns how many ended.
pub async fn revoke_other_sessions(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<u64> {
    sessions::require_recent_password(auth, state.settings(), now)?;
    let txn = db::begin_write(state.db()).await?;
    let ended = sessions::revoke_all(
        &txn,
        auth.user.id,
        Some(auth.session.id),
        EndReason::SignedOutElsewhere,
    )
    .await?;
    if ended > 0 {
        let mut event = NewEvent::for_user(
            Kind::SessionRevoked,
            auth.user.id,
            auth.user.organisation_id,
            client,
        );
        event.detail = Some(serde_json::json!({ "sessions": ended }));
        super::security_events::record(&txn, event, now).await?;
    }
    txn.commit().await?;
    Ok(ended)
}

/// One page of the person's own security events, newest first. `before` is the id of the
/// last entry of the previous page.
pub async fn activity(
    state: &AppState,
    auth: &Authenticated,
    before: Option<i64>,
) -> Result<ActivityPage> {
    let mut query = security_events::Entity::find()
        .filter(security_events::Column::UserId.eq(auth.user.id))
        .order_by_desc(security_events::Column::Id)
        .limit(ACTIVITY_PAGE + 1);
    if let Some(before) = before {
        query = query.filter(security_events::Column::Id.lt(before));
    }
    let mut rows = query.all(state.db()).await?;
    let more = rows.len() as u64 > ACTIVITY_PAGE;
    rows.truncate(usize::try_from(ACTIVITY_PAGE).unwrap_or(usize::MAX));
    let next = if more {
        rows.last().map(|row| row.id)
    } else {
        None
    };
    let entries = rows
        .into_iter()
        .map(|row| ActivityEntry {
            id: row.id,
            at: row.created_at.as_millis(),
            event: label(&row.kind, row.detail.as_deref()),
            device: row
                .user_agent
                .as_deref()
                .map(|ua| sessions::device_label(Some(ua))),
            ip: row.ip,
        })
        .collect();
    Ok(ActivityPage { entries, next })
}
