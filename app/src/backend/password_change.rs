//! "Change password", and the strength feedback shown while a new password is typed.
//!
//! A change needs the current password (throttled like sign-in) and, for someone who uses
//! two-factor authentication, a current code from their app. Before the answer
//! returns, in one transaction: the new hash is stored, every other session of the person
//! is ended (including sign-ins still waiting for a second factor), pending email changes
//! are dropped, this device's session gets a new token, the event is recorded, and a mail
//! to the account address is queued.

use super::{
    accounts,
    clock::Timestamp,
    db, email_change,
    entities::users,
    error::Result,
    mail::{self, Letter},
    passwords::{self, PasswordContext},
    request::ClientInfo,
    security_events::{self, Kind, NewEvent},
    sessions::{self, Authenticated, SessionToken},
    state::AppState,
    two_factor,
};
use crate::{
    api::{EndReason, PasswordFeedback},
    error::{AppError, FieldError},
    validation::PASSWORD_MAX_BYTES,
};
use sea_orm::{ActiveModelTrait, Set};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// What "Change password" sends.
pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub confirm: &'a str,
    /// A code from the authenticator app; asked for only when two-factor authentication
    /// is on.
    pub code: Option<&'a str>,
}

/// Changes the password. Returns the new token for this device's session.
pub async fn change(
    state: &AppState,
    auth: &Authenticated,
    form: PasswordChange<'_>,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<SessionToken> {
    let PasswordChange {
        current,
        new,
        confirm,
        code,
    } = form;
    let user = &auth.user;
    let context = PasswordContext {
        email: &user.email,
        first_name: &user.first_name,
        last_name: &user.last_name,
    };
    let mut errors: Vec<FieldError> = Vec::new();
    let new_password = passwords::new_password("new_password", new, &context)
        .map_err(|e| errors.push(e))
        .ok();
    if new != confirm {
        errors.push(FieldError::new(
            "confirm_password",
            "The two new passwords don't match.",
        ));
    }
    let code = code.unwrap_or_default();
    if auth.two_factor_enabled
        && let Err(e) = crate::validation::one_time_code("code", code)
    {
        errors.push(e);
    }
    let Some(new_password) = new_password.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors).into());
    };

    accounts::verify_current_password(state, user, current, client, now).await?;
    let unchanged = Zeroizing::new(current.nfkc().collect::<String>())
        == Zeroizing::new(new.nfkc().collect::<String>());
    if unchanged {
        return Err(AppError::invalid(
            "new_password",
            "Choose a password different from your current one.",
        )
        .into());
    }
    let hash = state.passwords().hash(&new_password).await?;

    // The code is checked last, in the transaction that makes the change, so it is spent
    // only if the password really changes.
    let txn = if auth.two_factor_enabled {
        two_factor::begin_with_current_code(state, user, code, client, now).await?
    } else {
        db::begin_write(state.db()).await?
    };
    users::ActiveModel {
        id: Set(user.id),
        password_hash: Set(hash),
        password_changed_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let ended = sessions::revoke_all(
        &txn,
        user.id,
        Some(auth.session.id),
        EndReason::PasswordChanged,
    )
    .await?;
    email_change::cancel_all(&txn, user.id).await?;
    let token = sessions::renew(&txn, auth.session.id, now).await?;
    let mut event =
        NewEvent::for_user(Kind::PasswordChanged, user.id, user.organisation_id, client);
    event.detail = Some(serde_json::json!({ "other_sessions_ended": ended }));
    security_events::record(&txn, event, now).await?;
    let device = sessions::device_label(client.user_agent.as_deref());
    let notice = Letter::new("Your password was changed")
        .paragraph(format!(
            "The password for your ImportOps account was just changed from {device}. Every \
             other device was signed out and will ask for the new password."
        ))
        .paragraph(
            "If you made this change, there is nothing more to do. If you didn't, someone else \
             knows your password: ask an admin of your organisation for help right away.",
        )
        .into_email(user.email.clone(), "Your ImportOps password was changed");
    mail::enqueue(&txn, notice, now).await?;
    txn.commit().await?;
    mail::wake(state);
    Ok(token)
}

/// How strong a password looks, for the meter beside "New password". The policy's own
/// refusals (too short, too common, built from your name) come first, in its words.
pub fn feedback(password: &str, context: &PasswordContext<'_>) -> PasswordFeedback {
    if password.is_empty() {
        return PasswordFeedback {
            score: 0,
            verdict: String::new(),
            problem: None,
        };
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return PasswordFeedback {
            score: 0,
            verdict: "Too long".into(),
            problem: Some("Use at most 128 characters.".into()),
        };
    }
    // A refused password needs no estimate: the reason is what the person should read.
    if let Err(refusal) = passwords::new_password("new_password", password, context) {
        return PasswordFeedback {
            score: 0,
            verdict: "Weak".into(),
            problem: Some(refusal.message),
        };
    }
    let inputs = [
        context.email,
        context.first_name,
        context.last_name,
        "importops",
    ];
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    let score = u8::from(estimate.score());
    let problem = estimate.feedback().and_then(|feedback| {
        feedback
            .warning()
            .map(|warning| warning.to_string())
            .or_else(|| feedback.suggestions().first().map(ToString::to_string))
    });
    let score = if problem.is_some() {
        score.min(1)
    } else {
        score
    };
    let verdict = match score {
        0 | 1 => "Weak",
        2 => "Fair",
        3 => "Good",
        _ => "Strong",
    };
    PasswordFeedback {
        score,
        verdict: verdict.into(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> PasswordContext<'static> {
        PasswordContext {
            email: "ana.lopez@example.com",
            first_name: "Ana",
            last_name: "Lopez",
        }
    }

    #[test]
    fn feedback_puts_the_policy_first_and_rewards_length() {
        let short = feedback("tulip", &context());
        assert_eq!(
            short.problem.as_deref(),
            Some("Use at least 12 characters.")
        );
        assert!(short.score <= 1);

        let common = feedback("Password1234!", &context());
        assert!(common.problem.unwrap().contains("too common"));

        let strong = feedback("copper kettle on the misty hill", &context());
        assert_eq!(strong.problem, None);
        assert!(strong.score >= 3, "{strong:?}");
        assert_eq!(feedback("", &context()).verdict, "");
    }
}
