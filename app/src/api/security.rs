//! Settings → Account → Password, Sessions and Recent security activity.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How strong a new password looks, for the meter beside "New password".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordFeedback {
    /// 0 (weakest) to 4.
    pub score: u8,
    /// "Weak", "Fair", "Good" or "Strong"; empty for an empty password.
    pub verdict: String,
    /// Why it would be refused, or how to make it stronger.
    pub problem: Option<String>,
}

/// One signed-in browser in the "Sessions" list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: i64,
    /// "Firefox on Windows".
    pub device: String,
    pub ip: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub signed_in_at: i64,
    pub last_active_at: i64,
    pub this_device: bool,
}

/// One line of "Recent security activity".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub event: String,
    pub device: Option<String>,
    pub ip: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPage {
    pub entries: Vec<ActivityEntry>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next: Option<i64>,
}

/// "Change password" → "Save". This device stays signed in (with a new session token);
/// every other device is signed out.
#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
    /// A code from the authenticator app, when two-factor authentication is on.
    #[server(default)]
    code: Option<String>,
) -> Result<(), AppError> {
    use crate::backend::{
        endpoint,
        password_change::{self, PasswordChange},
        request::Ctx,
        sessions,
    };
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        let now = ctx.state.clock().now();
        let form = PasswordChange {
            current: &current_password,
            new: &new_password,
            confirm: &confirm_password,
            code: code.as_deref(),
        };
        let token = password_change::change(&ctx.state, &auth, form, &ctx.client(), now).await?;
        endpoint::set_cookie(sessions::cookie_for(ctx.state.settings(), &token));
        Ok(())
    })
    .await
}

/// Strength feedback for a password being chosen (while typing). Judged against the
/// signed-in person's name and address when there is a session.
#[server(prefix = "/api", endpoint = "password_strength")]
pub async fn password_strength(password: String) -> Result<PasswordFeedback, AppError> {
    use crate::backend::{
        endpoint, password_change, passwords::PasswordContext, rate_limit, request::Ctx,
    };
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let now = ctx.state.clock().now();
        if let Some(ip) = ctx.client().ip {
            let limit = ctx.state.settings().password_feedback_rate;
            if let Err(wait) =
                rate_limit::hit(ctx.state.db(), &format!("strength:{ip}"), limit, now).await?
            {
                return Err(AppError::TooManyRequests {
                    retry_after_secs: wait.as_secs().max(1),
                }
                .into());
            }
        }
        let session = ctx.session();
        // The estimate is CPU work of its own (a dictionary and pattern search), so it runs
        // on the blocking pool rather than holding up other requests.
        tokio::task::spawn_blocking(move || {
            let context = match &session {
                Some(auth) => PasswordContext {
                    email: &auth.user.email,
                    first_name: &auth.user.first_name,
                    last_name: &auth.user.last_name,
                },
                None => PasswordContext {
                    email: "",
                    first_name: "",
                    last_name: "",
                },
            };
            password_change::feedback(&password, &context)
        })
        .await
        .map_err(crate::backend::error::Error::internal)
    })
    .await
}

/// "Confirm it's you": the password again, before a sensitive action. Setting up two-factor
/// authentication is one, so this stays open to someone whose organisation requires it and
/// who has not set it up yet.
#[server(prefix = "/api", endpoint = "confirm_password")]
pub async fn confirm_password(password: String) -> Result<(), AppError> {
    use crate::backend::{account_security, endpoint, request::Ctx, sessions};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session_for_enrolment()?;
        let now = ctx.state.clock().now();
        let token =
            account_security::confirm_password(&ctx.state, &auth, &password, &ctx.client(), now)
                .await?;
        endpoint::set_cookie(sessions::cookie_for(ctx.state.settings(), &token));
        Ok(())
    })
    .await
}

/// The "Sessions" list.
#[server(prefix = "/api", endpoint = "list_sessions")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use crate::backend::{account_security, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        account_security::list_sessions(&ctx.state, &auth, ctx.state.clock().now()).await
    })
    .await
}

/// "Sign out" for one other session.
#[server(prefix = "/api", endpoint = "revoke_session")]
pub async fn revoke_session(session_id: i64) -> Result<(), AppError> {
    use crate::backend::{account_security, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        let now = ctx.state.clock().now();
        account_security::revoke_session(&ctx.state, &auth, session_id, &ctx.client(), now).await
    })
    .await
}

/// "Sign out all other sessions". Returns how many were signed out.
#[server(prefix = "/api", endpoint = "revoke_other_sessions")]
pub async fn revoke_other_sessions() -> Result<u64, AppError> {
    use crate::backend::{account_security, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        let now = ctx.state.clock().now();
        account_security::revoke_other_sessions(&ctx.state, &auth, &ctx.client(), now).await
    })
    .await
}

/// A page of "Recent security activity", newest first.
#[server(prefix = "/api", endpoint = "security_activity")]
pub async fn security_activity(before: Option<i64>) -> Result<ActivityPage, AppError> {
    use crate::backend::{account_security, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        account_security::activity(&ctx.state, &auth, before).await
    })
    .await
}
