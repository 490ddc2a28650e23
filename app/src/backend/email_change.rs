//! Changing the sign-in address with a confirmation link.
//!
//! The account keeps its old address until the link mailed to the new one is used. The
//! link carries 256 random bits; only their SHA-256 is stored, bound to the person and the
//! new address, for 24 hours by default. A newer request, a cancel or a password change
//! replaces it. Whether another account already uses the new address is never revealed to
//! the requester: the answer is the same, and the new address is told instead.
//!
//! After a change the old address gets a notice with a "This wasn't me" link that, for a
//! week, puts the old address back and signs out every session.
//!
//! Each link is used by one transaction whose first statement deletes the link's row and
//! takes what it held: of two requests racing with one link, only one gets the row, on
//! PostgreSQL as on SQLite. A refusal rolls the delete back.

use super::{
    accounts,
    clock::Timestamp,
    db,
    entities::{email_changes, email_reverts, users},
    error::{Error, Result},
    mail::{self, Letter},
    rate_limit,
    request::ClientInfo,
    security_events::{self, Kind, NewEvent},
    sessions::{self, Authenticated},
    state::AppState,
    tokens,
};
use crate::{
    api::{EndReason, LinkKind},
    error::AppError,
    validation,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, OnConflict},
};
use std::time::Duration;

/// How long the "This wasn't me" link works.
pub const REVERT_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long rows of expired links are kept before they are deleted. Until then opening the
/// link says it expired and what to do, instead of that it is unknown; the addresses in
/// those rows are blanked at once, so only the token digests stay.
pub const EXPIRED_LINK_GRACE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The page a confirmation link opens; the token travels in the query string, which never
/// reaches the logs, and the page sends no referrer.
pub const CONFIRM_PATH: &str = "/account/email/confirm";
/// The page the "This wasn't me" link opens.
pub const REVERT_PATH: &str = "/account/email/revert";

/// What a confirmation or undo link leads to, as its page shows it before anything changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// The link works; the address it would set.
    Ready { email: String },
    /// The link is out of date.
    Expired,
    /// Never issued, already used, or replaced by a newer request.
    Unknown,
}

/// The new address waiting for confirmation, if any.
pub async fn pending(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: Timestamp,
) -> Result<Option<String>> {
    let row = email_changes::Entity::find()
        .filter(email_changes::Column::UserId.eq(user_id))
        .filter(email_changes::Column::ExpiresAt.gt(now))
        .one(db)
        .await?;
    Ok(row.map(|row| row.new_email))
}

/// "Change email": checks the password, records the pending change and mails the new
/// address. Returns the new address.
pub async fn request(
    state: &AppState,
    auth: &Authenticated,
    current_password: &str,
    new_email: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<String> {
    let new_email = validation::email("new_email", new_email)?;
    let new_key = validation::email_key(&new_email);
    if new_key == auth.user.email_key {
        return Err(AppError::invalid("new_email", "That is already your email address.").into());
    }
    accounts::verify_current_password(state, &auth.user, current_password, client, now).await?;
    limit_mail(state, auth, now).await?;

    let taken = users::Entity::find()
        .filter(users::Column::EmailKey.eq(&new_key))
        .one(state.db())
        .await?
        .is_some();
    let token = tokens::random_token();

    let txn = db::begin_write(state.db()).await?;
    // One statement replaces any earlier request: a delete followed by an insert would let
    // two requests racing for one person both insert, and the second hit the one-per-person
    // constraint. Here the later one waits for the earlier and replaces its row.
    email_changes::Entity::insert(email_changes::ActiveModel {
        user_id: Set(auth.user.id),
        token_hash: Set(tokens::digest(&token)),
        new_email: Set(new_email.clone()),
        new_email_key: Set(new_key),
        address_taken: Set(taken),
        created_at: Set(now),
        expires_at: Set(now.plus(state.settings().email_change_ttl)),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(email_changes::Column::UserId)
            .update_columns([
                email_changes::Column::TokenHash,
                email_changes::Column::NewEmail,
                email_changes::Column::NewEmailKey,
                email_changes::Column::AddressTaken,
                email_changes::Column::CreatedAt,
                email_changes::Column::ExpiresAt,
            ])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    mail::enqueue(
        &txn,
        link_mail(state, &auth.user, &new_email, taken, &token),
        now,
    )
    .await?;
    let mut event = NewEvent::for_user(
        Kind::EmailChangeRequested,
        auth.user.id,
        auth.user.organisation_id,
        client,
    );
    event.detail = Some(serde_json::json!({ "new_email": mask(&new_email) }));
    security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    mail::wake(state);
    Ok(new_email)
}

/// "Resend": mails a fresh link for the pending change (the previous link stops working).
pub async fn resend(state: &AppState, auth: &Authenticated, now: Timestamp) -> Result<()> {
    // Checked first so that asking with nothing pending costs none of the person's mail.
    if pending(state.db(), auth.user.id, now).await?.is_none() {
        return Err(nothing_pending());
    }
    limit_mail(state, auth, now).await?;

    let token = tokens::random_token();
    let txn = db::begin_write(state.db()).await?;
    // The change may have been cancelled, confirmed or replaced since the check above, so
    // the new token goes to whatever is pending now, and its address is read from there.
    let Some(change) = email_changes::Entity::update_many()
        .col_expr(
            email_changes::Column::TokenHash,
            Expr::value(tokens::digest(&token)),
        )
        .col_expr(
            email_changes::Column::ExpiresAt,
            Expr::value(now.plus(state.settings().email_change_ttl)),
        )
        .filter(email_changes::Column::UserId.eq(auth.user.id))
        .filter(email_changes::Column::ExpiresAt.gt(now))
        .exec_with_returning(&txn)
        .await?
        .pop()
    else {
        return Err(nothing_pending());
    };
    let email = link_mail(
        state,
        &auth.user,
        &change.new_email,
        change.address_taken,
        &token,
    );
    mail::enqueue(&txn, email, now).await?;
    txn.commit().await?;
    mail::wake(state);
    Ok(())
}

/// "Cancel": forgets the pending change; its link stops working.
pub async fn cancel(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<()> {
    let txn = db::begin_write(state.db()).await?;
    let deleted = email_changes::Entity::delete_many()
        .filter(email_changes::Column::UserId.eq(auth.user.id))
        .exec(&txn)
        .await?;
    if deleted.rows_affected > 0 {
        let event = NewEvent::for_user(
            Kind::EmailChangeCancelled,
            auth.user.id,
            auth.user.organisation_id,
            client,
        );
        security_events::record(&txn, event, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What a confirmation link would do, without doing it (mail scanners open links).
pub async fn inspect(db: &impl ConnectionTrait, token: &str, now: Timestamp) -> Result<LinkState> {
    let Some(change) = find_change(db, token).await? else {
        return Ok(LinkState::Unknown);
    };
    if change.expires_at <= now {
        return Ok(LinkState::Expired);
    }
    Ok(LinkState::Ready {
        email: change.new_email,
    })
}

/// "Confirm email change": applies the change in one transaction that checks again that
/// no other account uses the address, replaces the person's pending changes, tells the old
/// address (with the undo link) and records the event. Returns the new address.
pub async fn confirm(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<String> {
    let txn = db::begin_write(state.db()).await?;
    let Some(change) = email_changes::Entity::delete_many()
        .filter(email_changes::Column::TokenHash.eq(tokens::digest(token)))
        .exec_with_returning(&txn)
        .await?
        .pop()
    else {
        return Err(link_unknown(LinkKind::Confirm));
    };
    if change.expires_at <= now {
        return Err(link_expired(LinkKind::Confirm));
    }
    let Some(user) = users::Entity::find_by_id(change.user_id).one(&txn).await? else {
        return Err(link_unknown(LinkKind::Confirm));
    };
    let taken_now = users::Entity::find()
        .filter(users::Column::EmailKey.eq(&change.new_email_key))
        .filter(users::Column::Id.ne(user.id))
        .one(&txn)
        .await?
        .is_some();
    if change.address_taken || taken_now {
        return Err(address_in_use());
    }

    users::ActiveModel {
        id: Set(user.id),
        email: Set(change.new_email.clone()),
        email_key: Set(change.new_email_key.clone()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&txn)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            address_in_use()
        } else {
            Error::from(e)
        }
    })?;
    drop_pending_changes(&txn, user.id, &change.new_email_key).await?;

    let undo = tokens::random_token();
    email_reverts::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(tokens::digest(&undo)),
        old_email: Set(user.email.clone()),
        old_email_key: Set(user.email_key.clone()),
        new_email: Set(change.new_email.clone()),
        created_at: Set(now),
        expires_at: Set(now.plus(REVERT_WINDOW)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let link = state
        .settings()
        .public_url
        .link(&format!("{REVERT_PATH}?token={}", undo.as_str()));
    let notice = Letter::new("Your email address was changed")
        .paragraph(format!(
            "The email address for your ImportOps account was changed to {}. You now sign in \
             with that address.",
            mask(&change.new_email)
        ))
        .paragraph("If you made this change, there is nothing more to do.")
        .paragraph(
            "If you didn't, use the button below within 7 days: it puts this address back and \
             signs out every session. Then change your password.",
        )
        .button("This wasn't me", link)
        .into_email(
            user.email.clone(),
            "Your ImportOps email address was changed",
        );
    mail::enqueue(&txn, notice, now).await?;
    let mut event = NewEvent::for_user(Kind::EmailChanged, user.id, user.organisation_id, client);
    event.detail = Some(serde_json::json!({ "new_email": mask(&change.new_email) }));
    security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    mail::wake(state);
    Ok(change.new_email)
}

/// What an undo link would do, without doing it.
pub async fn inspect_revert(
    db: &impl ConnectionTrait,
    token: &str,
    now: Timestamp,
) -> Result<LinkState> {
    let Some(revert) = find_revert(db, token).await? else {
        return Ok(LinkState::Unknown);
    };
    if revert.expires_at <= now {
        return Ok(LinkState::Expired);
    }
    Ok(LinkState::Ready {
        email: revert.old_email,
    })
}

/// "This wasn't me": puts the old address back, signs out every session and drops any
/// pending change, in one transaction. Returns the restored address.
pub async fn revert(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<String> {
    let txn = db::begin_write(state.db()).await?;
    let Some(revert) = email_reverts::Entity::delete_many()
        .filter(email_reverts::Column::TokenHash.eq(tokens::digest(token)))
        .exec_with_returning(&txn)
        .await?
        .pop()
    else {
        return Err(link_unknown(LinkKind::Undo));
    };
    if revert.expires_at <= now {
        return Err(link_expired(LinkKind::Undo));
    }
    let Some(user) = users::Entity::find_by_id(revert.user_id).one(&txn).await? else {
        return Err(link_unknown(LinkKind::Undo));
    };
    let taken = users::Entity::find()
        .filter(users::Column::EmailKey.eq(&revert.old_email_key))
        .filter(users::Column::Id.ne(user.id))
        .one(&txn)
        .await?
        .is_some();
    if taken {
        return Err(old_address_in_use());
    }

    users::ActiveModel {
        id: Set(user.id),
        email: Set(revert.old_email.clone()),
        email_key: Set(revert.old_email_key.clone()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&txn)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            old_address_in_use()
        } else {
            Error::from(e)
        }
    })?;
    sessions::revoke_all(&txn, user.id, None, EndReason::EmailRestored).await?;
    drop_pending_changes(&txn, user.id, &revert.old_email_key).await?;
    email_reverts::Entity::delete_many()
        .filter(email_reverts::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    let restored = Letter::new("Your email address was put back")
        .paragraph(format!(
            "The email address for your ImportOps account is {} again, and every session was \
             signed out.",
            revert.old_email
        ))
        .paragraph(
            "Sign in again with this address. If you did not change the address yourself, \
             someone may know your password: change it in Settings → Account right after signing in.",
        )
        .button("Sign in", state.settings().public_url.link("/login"))
        .into_email(revert.old_email.clone(), "Your ImportOps email address was put back");
    mail::enqueue(&txn, restored, now).await?;
    let mut event = NewEvent::for_user(
        Kind::EmailChangeReverted,
        user.id,
        user.organisation_id,
        client,
    );
    event.detail = Some(serde_json::json!({ "undone_email": mask(&revert.new_email) }));
    security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    mail::wake(state);
    Ok(revert.old_email)
}

/// Drops every pending change of a person (for example when their password changes).
pub async fn cancel_all(db: &impl ConnectionTrait, user_id: i64) -> Result<(), sea_orm::DbErr> {
    email_changes::Entity::delete_many()
        .filter(email_changes::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Blanks the addresses of expired pending changes and undo links, and deletes them once
/// [`EXPIRED_LINK_GRACE`] has passed since they expired. Returns how many were deleted.
pub async fn delete_expired(
    db: &impl ConnectionTrait,
    now: Timestamp,
) -> Result<u64, sea_orm::DbErr> {
    let forget_before = now.minus(EXPIRED_LINK_GRACE);
    let changes = email_changes::Entity::delete_many()
        .filter(email_changes::Column::ExpiresAt.lte(forget_before))
        .exec(db)
        .await?;
    let reverts = email_reverts::Entity::delete_many()
        .filter(email_reverts::Column::ExpiresAt.lte(forget_before))
        .exec(db)
        .await?;

    // An expired link only needs its digest and expiry to explain itself.
    email_changes::Entity::update_many()
        .col_expr(email_changes::Column::NewEmail, Expr::value(""))
        .col_expr(email_changes::Column::NewEmailKey, Expr::value(""))
        .filter(email_changes::Column::ExpiresAt.lte(now))
        .filter(email_changes::Column::NewEmail.ne(""))
        .exec(db)
        .await?;
    email_reverts::Entity::update_many()
        .col_expr(email_reverts::Column::OldEmail, Expr::value(""))
        .col_expr(email_reverts::Column::OldEmailKey, Expr::value(""))
        .col_expr(email_reverts::Column::NewEmail, Expr::value(""))
        .filter(email_reverts::Column::ExpiresAt.lte(now))
        .filter(email_reverts::Column::OldEmail.ne(""))
        .exec(db)
        .await?;
    Ok(changes.rows_affected + reverts.rows_affected)
}

/// An address with most of its local part hidden: `a***z@example.com`.
pub fn mask(email: &str) -> String {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return "***".into();
    };
    let chars: Vec<char> = local.chars().collect();
    let shown = match chars.as_slice() {
        [] => String::new(),
        [only] => format!("{only}***"),
        [first, .., last] => format!("{first}***{last}"),
    };
    format!("{shown}@{domain}")
}

/// The message to the new address: the confirmation link, or, when another account uses
/// the address, a notice that nothing was changed.
fn link_mail(
    state: &AppState,
    user: &users::Model,
    new_email: &str,
    taken: bool,
    token: &str,
) -> mail::Email {
    if taken {
        return Letter::new("This address already has an ImportOps account")
            .paragraph(
                "Someone asked to move their ImportOps account to this address, but another \
                 account already uses it, so nothing was changed.",
            )
            .paragraph(
                "If that was you, sign in with this address instead, or choose a different \
                 address for the other account. If it wasn't you, you can ignore this message.",
            )
            .into_email(new_email, "Your ImportOps address request");
    }
    let hours = state.settings().email_change_ttl.as_secs().div_ceil(3600);
    let link = state
        .settings()
        .public_url
        .link(&format!("{CONFIRM_PATH}?token={token}"));
    Letter::new("Confirm your new email address")
        .paragraph(format!(
            "{} asked to sign in to ImportOps with this address from now on.",
            format!("{} {}", user.first_name, user.last_name).trim()
        ))
        .paragraph(format!(
            "The change happens only when you confirm it. The link works for {hours} hours."
        ))
        .button("Confirm email change", link)
        .paragraph("If you didn't ask for this, ignore this message and nothing will change.")
        .into_email(new_email, "Confirm your new ImportOps email address")
}

/// Drops the person's pending changes, and everyone's pending changes to the address the
/// person now has: those could never complete, and their owners would keep seeing them as
/// pending.
async fn drop_pending_changes(
    txn: &impl ConnectionTrait,
    user_id: i64,
    email_key: &str,
) -> Result<(), sea_orm::DbErr> {
    email_changes::Entity::delete_many()
        .filter(
            Condition::any()
                .add(email_changes::Column::UserId.eq(user_id))
                .add(email_changes::Column::NewEmailKey.eq(email_key)),
        )
        .exec(txn)
        .await?;
    Ok(())
}

async fn find_change(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<email_changes::Model>> {
    Ok(email_changes::Entity::find()
        .filter(email_changes::Column::TokenHash.eq(tokens::digest(token)))
        .one(db)
        .await?)
}

async fn find_revert(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<email_reverts::Model>> {
    Ok(email_reverts::Entity::find()
        .filter(email_reverts::Column::TokenHash.eq(tokens::digest(token)))
        .one(db)
        .await?)
}

/// Limits the mail a person can cause to be sent through address changes.
async fn limit_mail(state: &AppState, auth: &Authenticated, now: Timestamp) -> Result<()> {
    let key = format!("email_change:{}", auth.user.id);
    match rate_limit::hit(
        state.db(),
        &key,
        state.settings().email_change_mail_rate,
        now,
    )
    .await?
    {
        Ok(()) => Ok(()),
        Err(wait) => Err(AppError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        }
        .into()),
    }
}

fn nothing_pending() -> Error {
    AppError::Conflict {
        field: None,
        message: "There is no pending email change.".into(),
    }
    .into()
}

/// The refusal of a link never issued, already used or replaced, saying what to do instead.
fn link_unknown(kind: LinkKind) -> Error {
    AppError::Conflict {
        field: None,
        message: kind.unknown_message().into(),
    }
    .into()
}

/// The refusal of a link past its expiry, saying what to do instead.
fn link_expired(kind: LinkKind) -> Error {
    AppError::Conflict {
        field: None,
        message: kind.expired_message().into(),
    }
    .into()
}

fn old_address_in_use() -> Error {
    AppError::Conflict {
        field: None,
        message: "Another account now uses your old address, so it cannot be put back. Ask an \
                  admin of your organisation for help."
            .into(),
    }
    .into()
}

fn address_in_use() -> Error {
    AppError::Conflict {
        field: None,
        message: "Another account uses this address, so the change could not be made. Choose a \
                  different address in Settings → Account."
            .into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masking_keeps_the_ends_of_the_local_part() {
        assert_eq!(mask("ana.lopez@example.com"), "a***z@example.com");
        assert_eq!(mask("a@example.com"), "a***@example.com");
        assert_eq!(mask("李小龍@例え.jp"), "李***龍@例え.jp");
        assert_eq!(mask("broken"), "***");
    }
}
