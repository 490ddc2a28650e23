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
    PasswordChanged,
    /// The password was entered again to allow sensitive actions.
    PasswordConfirmed,
    /// Other sessions were signed out from the sessions list.
    SessionRevoked,
    TwoFactorEnabled,
    TwoFactorDisabled,
    TwoFactorFailed,
    /// A code that was already used was entered again.
    TwoFactorReplayed,
    TwoFactorLocked,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
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
            Kind::PasswordChanged => "password_changed",
            Kind::PasswordConfirmed => "password_confirmed",
            Kind::SessionRevoked => "session_revoked",
            Kind::TwoFactorEnabled => "two_factor_enabled",
            Kind::TwoFactorDisabled => "two_factor_disabled",
            Kind::TwoFactorFailed => "two_factor_failed",
            Kind::TwoFactorReplayed => "two_factor_replayed",
            Kind::TwoFactorLocked => "two_factor_locked",
            Kind::RecoveryCodeUsed => "recovery_code_used",
            Kind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
        }
    }
}

/// How an event reads in "Recent security activity".
pub fn label(kind: &str, detail: Option<&str>) -> String {
    let detail: Option<serde_json::Value> = detail.and_then(|d| serde_json::from_str(d).ok());
    let field = |name: &str| {
        detail
            .as_ref()
            .and_then(|d| d.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let count = |name: &str| {
        detail
            .as_ref()
            .and_then(|d| d.get(name))
            .and_then(|v| v.as_u64())
    };
    match kind {
        "account_created" => "Account created".into(),
        "signed_in" => "Signed in".into(),
        "sign_in_failed" => "Failed sign-in attempt".into(),
        "sign_in_locked" => "Sign-in locked after repeated failures".into(),
        "signed_out" => "Signed out".into(),
        "profile_updated" => "Name changed".into(),
        "avatar_changed" => "Avatar changed".into(),
        "avatar_removed" => "Avatar removed".into(),
        "upload_rejected" => "Avatar upload refused".into(),
        "password_check_failed" => "Wrong password entered to confirm a change".into(),
        "email_change_requested" => match field("new_email") {
            Some(to) => format!("Email change requested (to {to})"),
            None => "Email change requested".into(),
        },
        "email_change_cancelled" => "Email change cancelled".into(),
        "email_changed" => match field("new_email") {
            Some(to) => format!("Email changed to {to}"),
            None => "Email changed".into(),
        },
        "email_change_reverted" => "Email change undone; every session signed out".into(),
        "password_changed" => "Password changed; other sessions signed out".into(),
        "password_confirmed" => "Password confirmed for a sensitive change".into(),
        "session_revoked" => match count("sessions") {
            Some(1) | None => "Signed out another session".into(),
            Some(n) => format!("Signed out {n} other sessions"),
        },
        "two_factor_enabled" => "Two-factor authentication turned on".into(),
        "two_factor_disabled" => "Two-factor authentication turned off".into(),
        "two_factor_failed" => "Wrong two-factor code".into(),
        "two_factor_replayed" => "Already-used two-factor code entered".into(),
        "two_factor_locked" => "Two-factor codes locked after repeated wrong codes".into(),
        "recovery_code_used" => "Signed in with a recovery code".into(),
        "recovery_codes_regenerated" => "New recovery codes created".into(),
        other => other.replace('_', " "),
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
