//! The security log: what happened to an account, when, and from where. People see their
//! own entries under "Recent security activity"; operators see them in the database.

use super::{clock::Timestamp, entities::security_events, request::ClientInfo};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use std::time::Duration;

/// How long entries are kept.
pub const RETENTION: Duration = Duration::from_secs(400 * 24 * 60 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    AccountCreated,
    SignedIn,
    SignInFailed,
    SignInLocked,
    SignedOut,
    ProfileUpdated,
    AvatarChanged,
    AvatarRemoved,
    UploadRejected,
    /// A current password typed to confirm a change was wrong.
    PasswordCheckFailed,
    EmailChangeRequested,
    EmailChangeCancelled,
    EmailChanged,
    EmailChangeReverted,
}

impl Kind {
    /// The stable identifier stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AccountCreated => "account_created",
            Kind::SignedIn => "signed_in",
            Kind::SignInFailed => "sign_in_failed",
            Kind::SignInLocked => "sign_in_locked",
            Kind::SignedOut => "signed_out",
            Kind::ProfileUpdated => "profile_updated",
            Kind::AvatarChanged => "avatar_changed",
            Kind::AvatarRemoved => "avatar_removed",
            Kind::UploadRejected => "upload_rejected",
            Kind::PasswordCheckFailed => "password_check_failed",
            Kind::EmailChangeRequested => "email_change_requested",
            Kind::EmailChangeCancelled => "email_change_cancelled",
            Kind::EmailChanged => "email_changed",
            Kind::EmailChangeReverted => "email_change_reverted",
        }
    }
}

/// An event about to be recorded.
pub struct NewEvent<'a> {
    pub kind: Kind,
    pub user_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub client: &'a ClientInfo,
    /// Extra facts, never secrets.
    pub detail: Option<serde_json::Value>,
}

impl<'a> NewEvent<'a> {
    pub fn for_user(
        kind: Kind,
        user_id: i64,
        organisation_id: i64,
        client: &'a ClientInfo,
    ) -> Self {
        NewEvent {
            kind,
            user_id: Some(user_id),
            organisation_id: Some(organisation_id),
            client,
            detail: None,
        }
    }
}

pub async fn record(
    db: &impl ConnectionTrait,
    event: NewEvent<'_>,
    now: Timestamp,
) -> Result<(), DbErr> {
    tracing::info!(
        event = event.kind.as_str(),
        user_id = event.user_id,
        organisation_id = event.organisation_id,
        "security event"
    );
    security_events::ActiveModel {
        user_id: Set(event.user_id),
        organisation_id: Set(event.organisation_id),
        kind: Set(event.kind.as_str().to_owned()),
        ip: Set(event.client.ip.clone()),
        user_agent: Set(event
            .client
            .user_agent
            .as_deref()
            .map(|ua| ua.chars().take(512).collect())),
        detail: Set(event.detail.map(|d| d.to_string())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Deletes entries older than the retention period.
pub async fn delete_expired(db: &impl ConnectionTrait, now: Timestamp) -> Result<u64, DbErr> {
    let result = security_events::Entity::delete_many()
        .filter(security_events::Column::CreatedAt.lt(now.minus(RETENTION)))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
