//! Two-factor authentication against the database: enrolment, the code step at sign-in,
//! recovery codes, turning it off.
//!
//! Every code is checked inside a write transaction that holds the person's two-factor row
//! locked, so attempts for one person are checked one at a time against current counters:
//! each 30-second code is accepted once (the accepted step is also written with a
//! conditional update, `last_step < step`), wrong codes are counted before the next attempt
//! is looked at, and the change a code unlocks commits together with the code's use.

use super::{
    CodeCheck, CodeThrottle, ISSUER, TotpSecret, Wait, check,
    recovery::{self, RecoveryCode},
};
use crate::{
    api::TwoFactorSetup,
    backend::{
        accounts,
        clock::Timestamp,
        db,
        entities::{recovery_codes, two_factor, users},
        error::{Error, Result},
        mail::{self, Letter},
        request::ClientInfo,
        security_events::{self, Kind, NewEvent},
        sessions::{self, Authenticated, SessionToken},
        state::AppState,
    },
    error::AppError,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};

/// Whether the person has finished enrolment.
pub async fn is_enabled(db: &impl ConnectionTrait, user_id: i64) -> Result<bool, DbErr> {
    let row = two_factor::Entity::find_by_id(user_id).one(db).await?;
    Ok(row.is_some_and(|row| row.enabled_at.is_some()))
}

/// How many unused recovery codes the person has.
pub async fn recovery_codes_left(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, DbErr> {
    recovery_codes::Entity::find()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .count(db)
        .await
}

/// Starts enrolment (sudo mode): a new secret, pending until a code from it confirms it.
/// Returns what the wizard shows: the `otpauth://` URI for the QR code and the key for
/// typing in by hand.
pub async fn start_enrolment(
    state: &AppState,
    auth: &Authenticated,
    now: Timestamp,
) -> Result<TwoFactorSetup> {
    sessions::require_recent_password(auth, state.settings(), now)?;
    if auth.two_factor_enabled {
        return Err(already_on());
    }
    let secret = TotpSecret::generate();
    let sealed = secret
        .seal(state.secret_key(), auth.user.id)
        .map_err(Error::internal)?;
    two_factor::Entity::insert(two_factor::ActiveModel {
        user_id: Set(auth.user.id),
        sealed_secret: Set(sealed),
        enabled_at: Set(None),
        last_step: Set(None),
        failures: Set(0),
        last_failure_at: Set(None),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(two_factor::Column::UserId)
            .update_columns([
                two_factor::Column::SealedSecret,
                two_factor::Column::LastStep,
                two_factor::Column::Failures,
                two_factor::Column::LastFailureAt,
                two_factor::Column::CreatedAt,
            ])
            // Never replaces a finished enrolment.
            .action_and_where(two_factor::Column::EnabledAt.is_null())
            .to_owned(),
    )
    .exec_without_returning(state.db())
    .await?;
    Ok(TwoFactorSetup {
        otpauth_uri: secret.otpauth_uri(ISSUER, &auth.user.email).to_string(),
        key: secret.grouped().to_string(),
    })
}

/// "Save": the first code from the app confirms the enrolment (and counts as used).
/// Returns the ten recovery codes, shown once, and this session's new token.
///
/// Unlike starting, this asks for no recent password: a correct code proves the caller saw
/// the secret, which only the password-checked start handed out, and the person may well
/// take longer than the password window to set up their app.
pub async fn confirm_enrolment(
    state: &AppState,
    auth: &Authenticated,
    code: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<(Vec<RecoveryCode>, SessionToken)> {
    crate::validation::one_time_code("code", code)?;
    let (codes, hashes) = recovery::generate();

    let txn = db::begin_write(state.db()).await?;
    let Some(row) = locked_row(&txn, auth.user.id).await? else {
        return Err(restart());
    };
    if row.enabled_at.is_some() {
        return Err(already_on());
    }
    throttle(&row, now, false)?;
    let secret = open(state, &row)?;
    let CodeCheck::Accepted { step } = check(&secret, code, now, None) else {
        let locks = count_failure(&txn, &auth.user, client, now).await?;
        txn.commit().await?;
        if locks {
            mail::wake(state);
        }
        return Err(wrong_code());
    };
    let confirmed = two_factor::Entity::update_many()
        .col_expr(two_factor::Column::EnabledAt, Expr::value(now))
        .col_expr(two_factor::Column::LastStep, Expr::value(step))
        .col_expr(two_factor::Column::Failures, Expr::value(0))
        .col_expr(
            two_factor::Column::LastFailureAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(two_factor::Column::UserId.eq(auth.user.id))
        .filter(two_factor::Column::EnabledAt.is_null())
        .exec(&txn)
        .await?;
    if confirmed.rows_affected != 1 {
        return Err(already_on());
    }
    replace_recovery_codes(&txn, auth.user.id, hashes, now).await?;
    let token = sessions::renew(&txn, auth.session.id, now).await?;
    record(&txn, Kind::TwoFactorEnabled, &auth.user, client, now).await?;
    let notice = Letter::new("Two-factor authentication is on")
        .paragraph(
            "From now on ImportOps asks for a code from your authenticator app after your \
             password when you sign in.",
        )
        .paragraph(
            "Keep your recovery codes somewhere safe: each one signs you in once if you lose \
             your phone.",
        )
        .into_email(auth.user.email.clone(), "Two-factor authentication is on");
    mail::enqueue(&txn, notice, now).await?;
    txn.commit().await?;
    mail::wake(state);
    Ok((codes, token))
}

/// The code step of a sign-in. On success the waiting session becomes a full one under a
/// new token.
pub async fn sign_in_with_code(
    state: &AppState,
    pending: &Authenticated,
    code: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<SessionToken> {
    crate::validation::one_time_code("code", code)?;
    let txn = begin_with_current_code(state, &pending.user, code, client, now).await?;
    let token = complete_sign_in(&txn, state, pending, now).await?;
    let mut event = event(Kind::SignedIn, &pending.user, client);
    event.detail = Some(serde_json::json!({ "second_factor": "authenticator app" }));
    security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    Ok(token)
}

/// "Use a recovery code instead": a recovery code completes the sign-in once, and the
/// person is told by mail. Returns the new token and how many codes are left.
pub async fn sign_in_with_recovery_code(
    state: &AppState,
    pending: &Authenticated,
    code: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<(SessionToken, u64)> {
    crate::validation::recovery_code("recovery_code", code)?;
    let txn = db::begin_write(state.db()).await?;
    let row = enabled_row(&txn, pending.user.id).await?;
    // Recovery codes are the way out of a code lock, so only the short waits apply.
    throttle(&row, now, true)?;
    let used = match recovery::hash(code) {
        Some(hash) => {
            recovery_codes::Entity::delete_many()
                .filter(recovery_codes::Column::UserId.eq(pending.user.id))
                .filter(recovery_codes::Column::CodeHash.eq(hash))
                .exec(&txn)
                .await?
                .rows_affected
                == 1
        }
        None => false,
    };
    if !used {
        let locks = count_failure(&txn, &pending.user, client, now).await?;
        txn.commit().await?;
        if locks {
            mail::wake(state);
        }
        return Err(AppError::invalid(
            "recovery_code",
            "That recovery code didn't work. Each code works once; check it and try again.",
        )
        .into());
    }

    two_factor::Entity::update_many()
        .col_expr(two_factor::Column::Failures, Expr::value(0))
        .col_expr(
            two_factor::Column::LastFailureAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(two_factor::Column::UserId.eq(pending.user.id))
        .exec(&txn)
        .await?;
    let token = complete_sign_in(&txn, state, pending, now).await?;
    let left = recovery_codes_left(&txn, pending.user.id).await?;
    record(&txn, Kind::RecoveryCodeUsed, &pending.user, client, now).await?;
    let mut signed_in = event(Kind::SignedIn, &pending.user, client);
    signed_in.detail = Some(serde_json::json!({ "second_factor": "recovery code" }));
    security_events::record(&txn, signed_in, now).await?;
    let notice = Letter::new("A recovery code was used")
        .paragraph(format!(
            "Someone signed in to your ImportOps account with one of your recovery codes from \
             {}. You have {left} recovery codes left.",
            sessions::device_label(client.user_agent.as_deref())
        ))
        .paragraph(
            "If this wasn't you, change your password and ask an admin of your organisation to \
             reset your two-factor authentication.",
        )
        .into_email(
            pending.user.email.clone(),
            "A recovery code was used for your ImportOps account",
        );
    mail::enqueue(&txn, notice, now).await?;
    txn.commit().await?;
    mail::wake(state);
    Ok((token, left))
}

/// "Regenerate recovery codes" (sudo mode): ten new codes; the old ones stop working.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<Vec<RecoveryCode>> {
    sessions::require_recent_password(auth, state.settings(), now)?;
    if !auth.two_factor_enabled {
        return Err(not_on());
    }
    let (codes, hashes) = recovery::generate();
    let txn = db::begin_write(state.db()).await?;
    replace_recovery_codes(&txn, auth.user.id, hashes, now).await?;
    record(
        &txn,
        Kind::RecoveryCodesRegenerated,
        &auth.user,
        client,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(codes)
}

/// "Disable two-factor authentication": needs the password and a current code, is refused
/// while the organisation requires two-factor authentication, and mails the person.
pub async fn disable(
    state: &AppState,
    auth: &Authenticated,
    password: &str,
    code: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<()> {
    if auth.two_factor_required {
        return Err(AppError::Conflict {
            field: None,
            message: "Your organisation requires two-factor authentication, so it can't be \
                      turned off."
                .into(),
        }
        .into());
    }
    if !auth.two_factor_enabled {
        return Err(not_on());
    }
    crate::validation::one_time_code("code", code)?;
    accounts::verify_current_password(state, &auth.user, password, client, now).await?;

    let txn = begin_with_current_code(state, &auth.user, code, client, now).await?;
    two_factor::Entity::delete_by_id(auth.user.id)
        .exec(&txn)
        .await?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(auth.user.id))
        .exec(&txn)
        .await?;
    record(&txn, Kind::TwoFactorDisabled, &auth.user, client, now).await?;
    let notice = Letter::new("Two-factor authentication is off")
        .paragraph(
            "Two-factor authentication was just turned off for your ImportOps account: signing \
             in now needs only your password.",
        )
        .paragraph(
            "If this wasn't you, change your password right away and turn two-factor \
             authentication back on in Settings → Account.",
        )
        .into_email(auth.user.email.clone(), "Two-factor authentication is off");
    mail::enqueue(&txn, notice, now).await?;
    txn.commit().await?;
    mail::wake(state);
    Ok(())
}

/// Starts a write transaction in which a current code from the person's app has been
/// accepted and marked used. The caller makes its change (completing a sign-in, turning
/// two-factor authentication off, changing the password) in the same transaction, so the
/// code is spent only if the change is made, and a code can never be used twice.
///
/// The person's two-factor row is locked for the whole check (`FOR UPDATE` on PostgreSQL;
/// on SQLite the transaction holds the database's write lock from its start), so requests
/// racing with the same code, or with a burst of guesses, are checked one at a time against
/// up-to-date counters: exactly one wins, and the throttle sees every failure before it.
/// A wrong code is counted (and its consequences recorded) before the error returns. The
/// caller checks the code's shape first, so a typo costs no attempt.
pub async fn begin_with_current_code(
    state: &AppState,
    user: &users::Model,
    code: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<DatabaseTransaction> {
    let txn = db::begin_write(state.db()).await?;
    let row = enabled_row(&txn, user.id).await?;
    throttle(&row, now, false)?;
    let secret = open(state, &row)?;
    match check(&secret, code, now, row.last_step) {
        CodeCheck::Accepted { step } if claim_step(&txn, user.id, step).await? => Ok(txn),
        CodeCheck::Accepted { .. } | CodeCheck::Replayed => {
            // Someone may be replaying a code they saw: worth a line in the security log,
            // but not a failure, since the person's own double submit looks the same.
            record(&txn, Kind::TwoFactorReplayed, user, client, now).await?;
            txn.commit().await?;
            Err(code_used())
        }
        CodeCheck::Wrong => {
            let locks = count_failure(&txn, user, client, now).await?;
            txn.commit().await?;
            if locks {
                mail::wake(state);
            }
            Err(wrong_code())
        }
    }
}

/// Turns the waiting sign-in into a full session. A sign-in that ended meanwhile (a password
/// change, its five minutes ran out) gets the answer any dead session gets; the caller's
/// transaction is dropped, so the code it checked stays unused.
async fn complete_sign_in(
    txn: &DatabaseTransaction,
    state: &AppState,
    pending: &Authenticated,
    now: Timestamp,
) -> Result<SessionToken> {
    sessions::complete_second_factor(txn, state.settings(), pending.session.id, now)
        .await?
        .ok_or_else(|| AppError::Unauthenticated.into())
}

/// The person's two-factor row, locked until the transaction ends.
async fn locked_row(
    txn: &DatabaseTransaction,
    user_id: i64,
) -> Result<Option<two_factor::Model>, DbErr> {
    two_factor::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(txn)
        .await
}

/// The finished enrolment's row, locked until the transaction ends.
async fn enabled_row(txn: &DatabaseTransaction, user_id: i64) -> Result<two_factor::Model> {
    match locked_row(txn, user_id).await? {
        Some(row) if row.enabled_at.is_some() => Ok(row),
        _ => Err(not_on()),
    }
}

fn open(state: &AppState, row: &two_factor::Model) -> Result<TotpSecret> {
    TotpSecret::open(state.secret_key(), row.user_id, &row.sealed_secret).map_err(|error| {
        Error::internal(format!(
            "a two-factor secret could not be opened (was IMPORTOPS_SECRET_KEY changed?): {error:?}"
        ))
    })
}

/// Refuses the attempt while wrong codes make the person wait.
fn throttle(row: &two_factor::Model, now: Timestamp, recovery: bool) -> Result<()> {
    let failures = u32::try_from(row.failures).unwrap_or(0);
    match CodeThrottle::DEFAULT.decide(failures, row.last_failure_at, now) {
        Ok(()) => Ok(()),
        Err(Wait::Blocked) if recovery => Ok(()),
        Err(Wait::Blocked) => Err(AppError::Conflict {
            field: None,
            message: "Codes from your app are blocked after too many wrong attempts. Sign \
                      in with a recovery code, or ask an admin of your organisation to reset \
                      two-factor authentication."
                .into(),
        }
        .into()),
        Err(wait) => {
            let seconds = wait.remaining(now).map_or(30, |d| Ord::max(d.as_secs(), 1));
            Err(AppError::TooManyRequests {
                retry_after_secs: seconds,
            }
            .into())
        }
    }
}

/// Accepts a code step once: true if this request is the one that moved `last_step`.
async fn claim_step(db: &impl ConnectionTrait, user_id: i64, step: i64) -> Result<bool, DbErr> {
    let claimed = two_factor::Entity::update_many()
        .col_expr(two_factor::Column::LastStep, Expr::value(step))
        .col_expr(two_factor::Column::Failures, Expr::value(0))
        .col_expr(
            two_factor::Column::LastFailureAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(two_factor::Column::UserId.eq(user_id))
        .filter(
            two_factor::Column::LastStep
                .is_null()
                .or(two_factor::Column::LastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Counts a wrong code atomically; returns the count in a row.
async fn record_failure(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: Timestamp,
) -> Result<u32, DbErr> {
    let rows = two_factor::Entity::update_many()
        .col_expr(
            two_factor::Column::Failures,
            Expr::col(two_factor::Column::Failures).add(1),
        )
        .col_expr(two_factor::Column::LastFailureAt, Expr::value(now))
        .filter(two_factor::Column::UserId.eq(user_id))
        .exec_with_returning(db)
        .await?;
    Ok(rows
        .first()
        .map_or(0, |row| u32::try_from(row.failures).unwrap_or(0)))
}

/// Counts a wrong code and logs it; the failure that starts a lock also queues a mail to
/// the person. Returns whether it did, so the caller wakes the mail worker after commit.
async fn count_failure(
    txn: &DatabaseTransaction,
    user: &users::Model,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<bool> {
    let failures = record_failure(txn, user.id, now).await?;
    let mut failure = event(Kind::TwoFactorFailed, user, client);
    failure.detail = Some(serde_json::json!({ "consecutive_failures": failures }));
    security_events::record(txn, failure, now).await?;
    let locks = CodeThrottle::DEFAULT.starts_lock(failures);
    if locks {
        record(txn, Kind::TwoFactorLocked, user, client, now).await?;
        let notice = Letter::new("Two-factor codes are locked for 15 minutes")
            .paragraph(format!(
                "Someone entered {failures} wrong two-factor codes in a row for your ImportOps \
                 account, so codes from your app are not accepted for the next 15 minutes."
            ))
            .paragraph(
                "If this wasn't you, someone knows your password: change it as soon as you can \
                 sign in.",
            )
            .into_email(
                user.email.clone(),
                "Two-factor codes locked on your ImportOps account",
            );
        mail::enqueue(txn, notice, now).await?;
    }
    Ok(locks)
}

async fn replace_recovery_codes(
    db: &impl ConnectionTrait,
    user_id: i64,
    hashes: Vec<String>,
    now: Timestamp,
) -> Result<(), DbErr> {
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    for hash in hashes {
        recovery_codes::ActiveModel {
            user_id: Set(user_id),
            code_hash: Set(hash),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

fn event<'a>(kind: Kind, user: &users::Model, client: &'a ClientInfo) -> NewEvent<'a> {
    NewEvent::for_user(kind, user.id, user.organisation_id, client)
}

async fn record(
    db: &impl ConnectionTrait,
    kind: Kind,
    user: &users::Model,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<(), DbErr> {
    security_events::record(db, event(kind, user, client), now).await
}

fn wrong_code() -> Error {
    AppError::invalid(
        "code",
        "That code didn't work. Check that your phone's time is right and enter the newest code.",
    )
    .into()
}

fn code_used() -> Error {
    AppError::invalid(
        "code",
        "That code was already used. Wait for the next code in your app and enter it.",
    )
    .into()
}

fn already_on() -> Error {
    AppError::Conflict {
        field: None,
        message: "Two-factor authentication is already on.".into(),
    }
    .into()
}

fn not_on() -> Error {
    AppError::Conflict {
        field: None,
        message: "Two-factor authentication is not on.".into(),
    }
    .into()
}

fn restart() -> Error {
    AppError::Conflict {
        field: None,
        message: "This set-up has expired. Start again.".into(),
    }
    .into()
}
