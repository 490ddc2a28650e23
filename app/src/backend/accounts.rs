//! Creating accounts and signing in and out.

use super::{
    clock::Timestamp,
    db,
    entities::{organisations, users},
    error::{Error, Result},
    passwords::{self, Password, PasswordContext, Verdict},
    rate_limit,
    request::ClientInfo,
    security_events::{self, Kind, NewEvent},
    sessions::{self, Authenticated, SessionToken},
    state::AppState,
    throttle, two_factor,
};
use crate::{
    api::Role,
    error::{AppError, FieldError},
    validation,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

/// What the sign-up form sends.
pub struct SignUpForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password: String,
    pub organisation: String,
}

/// A new session, ready for its cookie.
#[derive(Debug)]
pub struct SignedIn {
    pub token: SessionToken,
    pub user_id: i64,
    /// The password was right and the person uses two-factor authentication: the session
    /// waits for a code before it reaches anything.
    pub second_factor_pending: bool,
}

/// Creates an organisation with the person as its Owner, and signs them in.
pub async fn sign_up(
    state: &AppState,
    form: SignUpForm,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<SignedIn> {
    let mut errors: Vec<FieldError> = Vec::new();
    let first_name = validation::name("first_name", "first name", &form.first_name)
        .map_err(|e| errors.push(e))
        .ok();
    let last_name = validation::name("last_name", "last name", &form.last_name)
        .map_err(|e| errors.push(e))
        .ok();
    let email = validation::email("email", &form.email)
        .map_err(|e| errors.push(e))
        .ok();
    let organisation = validation::organisation_name("organisation", &form.organisation)
        .map_err(|e| errors.push(e))
        .ok();
    let context = PasswordContext {
        email: email.as_deref().unwrap_or(&form.email),
        first_name: first_name.as_deref().unwrap_or_default(),
        last_name: last_name.as_deref().unwrap_or_default(),
    };
    let password = passwords::new_password("password", &form.password, &context)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(first_name), Some(last_name), Some(email), Some(organisation), Some(password)) =
        (first_name, last_name, email, organisation, password)
    else {
        return Err(AppError::Invalid(errors).into());
    };

    limit(state, "sign_up", client, state.settings().sign_up_rate, now).await?;

    let email_key = validation::email_key(&email);
    if email_in_use(state, &email_key).await? {
        return Err(email_taken().into());
    }
    let password_hash = state.passwords().hash(&password).await?;

    let txn = db::begin_write(state.db()).await?;
    let organisation = organisations::ActiveModel {
        name: Set(organisation),
        require_two_factor: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let user = users::ActiveModel {
        organisation_id: Set(organisation.id),
        role: Set(Role::Owner.as_str().to_owned()),
        first_name: Set(first_name),
        last_name: Set(last_name),
        email: Set(email),
        email_key: Set(email_key),
        password_hash: Set(password_hash),
        password_changed_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            email_taken().into()
        } else {
            Error::from(e)
        }
    })?;
    let (token, _) = sessions::start(&txn, state.settings(), user.id, false, client, now).await?;
    for kind in [Kind::AccountCreated, Kind::SignedIn] {
        security_events::record(
            &txn,
            NewEvent::for_user(kind, user.id, organisation.id, client),
            now,
        )
        .await?;
    }
    txn.commit().await?;

    Ok(SignedIn {
        token,
        user_id: user.id,
        second_factor_pending: false,
    })
}

/// Signs in with an email address and password.
///
/// An unknown address, a wrong password and a malformed password get the same answer
/// after the same work (a dummy hash is verified for unknown addresses). Failures are
/// throttled per address and attempts are rate-limited per client.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<SignedIn> {
    if email.trim().is_empty() || password.is_empty() {
        let mut errors = Vec::new();
        if email.trim().is_empty() {
            errors.push(FieldError::new("email", "Enter your email address."));
        }
        if password.is_empty() {
            errors.push(FieldError::new("password", "Enter your password."));
        }
        return Err(AppError::Invalid(errors).into());
    }

    limit(state, "sign_in", client, state.settings().sign_in_rate, now).await?;

    let email_key = validation::email_key(email);
    let throttle_key = throttle::key_for(&email_key);
    let policy = &state.settings().sign_in_throttle;
    if let Some(wait) = throttle::claim_attempt(state.db(), policy, &throttle_key, now).await? {
        return Err(too_many(wait).into());
    }

    let user = users::Entity::find()
        .filter(users::Column::EmailKey.eq(&email_key))
        .one(state.db())
        .await?;
    let verdict = match Password::for_sign_in(password) {
        Some(password) => {
            let stored = user.as_ref().map(|u| u.password_hash.as_str());
            let verdict = state.passwords().verify(&password, stored).await?;
            (verdict, Some(password))
        }
        None => (Verdict::Mismatch, None),
    };

    match (verdict, user) {
        ((Verdict::Match { rehash }, Some(password)), Some(user)) => {
            let new_hash = if rehash {
                Some(state.passwords().hash(&password).await?)
            } else {
                None
            };
            let txn = db::begin_write(state.db()).await?;
            throttle::clear(&txn, &throttle_key).await?;
            if let Some(hash) = new_hash {
                users::Entity::update(users::ActiveModel {
                    id: Set(user.id),
                    password_hash: Set(hash),
                    ..Default::default()
                })
                .exec(&txn)
                .await?;
            }
            let second_factor_pending = two_factor::is_enabled(&txn, user.id).await?;
            let (token, _) = sessions::start(
                &txn,
                state.settings(),
                user.id,
                second_factor_pending,
                client,
                now,
            )
            .await?;
            // With two-factor authentication the sign-in is recorded once the code is in.
            if !second_factor_pending {
                let event =
                    NewEvent::for_user(Kind::SignedIn, user.id, user.organisation_id, client);
                security_events::record(&txn, event, now).await?;
            }
            txn.commit().await?;
            Ok(SignedIn {
                token,
                user_id: user.id,
                second_factor_pending,
            })
        }
        (_, user) => {
            let txn = db::begin_write(state.db()).await?;
            let failures = throttle::record_failure(&txn, policy, &throttle_key, now).await?;
            if let Some(user) = &user {
                let kind = if failures >= policy.lock_after {
                    Kind::SignInLocked
                } else {
                    Kind::SignInFailed
                };
                let mut event = NewEvent::for_user(kind, user.id, user.organisation_id, client);
                event.detail = Some(serde_json::json!({ "consecutive_failures": failures }));
                security_events::record(&txn, event, now).await?;
            }
            txn.commit().await?;
            Err(AppError::InvalidCredentials.into())
        }
    }
}

/// Ends the current session.
pub async fn sign_out(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<()> {
    let txn = db::begin_write(state.db()).await?;
    sessions::end(&txn, auth.session.id).await?;
    let event = NewEvent::for_user(
        Kind::SignedOut,
        auth.user.id,
        auth.user.organisation_id,
        client,
    );
    security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    Ok(())
}

async fn email_in_use(state: &AppState, email_key: &str) -> Result<bool> {
    let found = users::Entity::find()
        .filter(users::Column::EmailKey.eq(email_key))
        .one(state.db())
        .await?;
    Ok(found.is_some())
}

fn email_taken() -> AppError {
    AppError::Conflict {
        field: Some("email".into()),
        message: "An account already uses this email address. Sign in instead.".into(),
    }
}

/// Applies a per-client rate limit, keyed by the client's address.
async fn limit(
    state: &AppState,
    action: &str,
    client: &ClientInfo,
    limit: super::settings::RateLimit,
    now: Timestamp,
) -> Result<()> {
    let Some(ip) = client.ip.as_deref() else {
        return Ok(());
    };
    let key = format!("{action}:{ip}");
    match rate_limit::hit(state.db(), &key, limit, now).await? {
        Ok(()) => Ok(()),
        Err(wait) => {
            tracing::warn!(action, "client rate limit reached");
            Err(too_many(wait).into())
        }
    }
}

fn too_many(wait: std::time::Duration) -> AppError {
    AppError::TooManyRequests {
        retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

/// Checks the current password typed to confirm a sensitive change (a new email address,
/// a new password). Failures count against the same per-address throttle as sign-in, so
/// a stolen session cannot be used to guess the password faster than signing in would.
pub async fn verify_current_password(
    state: &AppState,
    user: &users::Model,
    password: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<()> {
    if password.is_empty() {
        return Err(AppError::invalid("current_password", "Enter your current password.").into());
    }
    let throttle_key = throttle::key_for(&user.email_key);
    let policy = &state.settings().sign_in_throttle;
    if let Some(wait) = throttle::claim_attempt(state.db(), policy, &throttle_key, now).await? {
        return Err(too_many(wait).into());
    }
    let verdict = match Password::for_sign_in(password) {
        Some(password) => {
            state
                .passwords()
                .verify(&password, Some(&user.password_hash))
                .await?
        }
        None => Verdict::Mismatch,
    };
    if let Verdict::Match { .. } = verdict {
        throttle::clear(state.db(), &throttle_key).await?;
        return Ok(());
    }

    let txn = db::begin_write(state.db()).await?;
    let failures = throttle::record_failure(&txn, policy, &throttle_key, now).await?;
    let mut event = NewEvent::for_user(
        Kind::PasswordCheckFailed,
        user.id,
        user.organisation_id,
        client,
    );
    event.detail = Some(serde_json::json!({ "consecutive_failures": failures }));
    security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    Err(AppError::IncorrectPassword.into())
}
