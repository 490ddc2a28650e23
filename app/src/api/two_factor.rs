//! Two-factor authentication: the enrolment wizard, recovery codes, turning it off, and
//! the code step of signing in.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the enrolment wizard shows: the QR code's content and the key for typing in by
/// hand. Sent once, never cached, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorSetup {
    /// `otpauth://totp/ImportOps:<email>?secret=…`
    pub otpauth_uri: String,
    /// The secret in groups of four characters.
    pub key: String,
}

impl std::fmt::Debug for TwoFactorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoFactorSetup(…)")
    }
}

/// Step 2 of the wizard: a new secret, pending until a code from it is entered.
#[server(prefix = "/api", endpoint = "start_two_factor")]
pub async fn start_two_factor() -> Result<TwoFactorSetup, AppError> {
    use crate::backend::{endpoint, request::Ctx, two_factor};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session_for_enrolment()?;
        two_factor::start_enrolment(&ctx.state, &auth, ctx.state.clock().now()).await
    })
    .await
}

/// "Save": the first code from the app turns two-factor authentication on. Returns the ten
/// recovery codes, shown once.
#[server(prefix = "/api", endpoint = "confirm_two_factor")]
pub async fn confirm_two_factor(code: String) -> Result<Vec<String>, AppError> {
    use crate::backend::{endpoint, request::Ctx, sessions, two_factor};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session_for_enrolment()?;
        let now = ctx.state.clock().now();
        let (codes, token) =
            two_factor::confirm_enrolment(&ctx.state, &auth, &code, &ctx.client(), now).await?;
        endpoint::set_cookie(sessions::cookie_for(ctx.state.settings(), &token));
        Ok(codes.iter().map(|code| code.as_str().to_owned()).collect())
    })
    .await
}

/// "Regenerate recovery codes": ten new codes; the old ones stop working.
#[server(prefix = "/api", endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes() -> Result<Vec<String>, AppError> {
    use crate::backend::{endpoint, request::Ctx, two_factor};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        let now = ctx.state.clock().now();
        let codes =
            two_factor::regenerate_recovery_codes(&ctx.state, &auth, &ctx.client(), now).await?;
        Ok(codes.iter().map(|code| code.as_str().to_owned()).collect())
    })
    .await
}

/// "Disable two-factor authentication": the password and a current code.
#[server(prefix = "/api", endpoint = "disable_two_factor")]
pub async fn disable_two_factor(password: String, code: String) -> Result<(), AppError> {
    use crate::backend::{endpoint, request::Ctx, two_factor};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        let now = ctx.state.clock().now();
        two_factor::disable(&ctx.state, &auth, &password, &code, &ctx.client(), now).await
    })
    .await
}

/// The code step of signing in. Returns the page to open next.
#[server(prefix = "/api", endpoint = "verify_two_factor")]
pub async fn verify_two_factor(code: String, next: Option<String>) -> Result<String, AppError> {
    use crate::backend::{endpoint, request::Ctx, sessions, two_factor};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let pending = ctx.require_pending()?;
        let now = ctx.state.clock().now();
        let token =
            two_factor::sign_in_with_code(&ctx.state, &pending, &code, &ctx.client(), now).await?;
        endpoint::set_cookie(sessions::cookie_for(ctx.state.settings(), &token));
        Ok(endpoint::navigate_to(&crate::validation::safe_next_path(
            next.as_deref(),
        )))
    })
    .await
}

/// "Use a recovery code instead". Returns the page to open next.
#[server(prefix = "/api", endpoint = "verify_recovery_code")]
pub async fn verify_recovery_code(
    recovery_code: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use crate::backend::{endpoint, request::Ctx, sessions, two_factor};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let pending = ctx.require_pending()?;
        let now = ctx.state.clock().now();
        let (token, _left) = two_factor::sign_in_with_recovery_code(
            &ctx.state,
            &pending,
            &recovery_code,
            &ctx.client(),
            now,
        )
        .await?;
        endpoint::set_cookie(sessions::cookie_for(ctx.state.settings(), &token));
        Ok(endpoint::navigate_to(&crate::validation::safe_next_path(
            next.as_deref(),
        )))
    })
    .await
}
