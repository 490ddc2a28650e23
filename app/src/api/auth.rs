//! Creating an account, signing in and out, and who is signed in.

use super::CurrentUser;
use crate::error::AppError;
use leptos::prelude::*;

/// "Create account": makes a new organisation with the person as its Owner and signs them
/// in. Returns the page to open next.
#[server(prefix = "/api", endpoint = "sign_up")]
pub async fn sign_up(
    first_name: String,
    last_name: String,
    email: String,
    password: String,
    organisation: String,
) -> Result<String, AppError> {
    use crate::backend::{accounts, endpoint, request::Ctx, sessions};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let now = ctx.state.clock().now();
        let form = accounts::SignUpForm {
            first_name,
            last_name,
            email,
            password,
            organisation,
        };
        let signed_in = accounts::sign_up(&ctx.state, form, &ctx.client(), now).await?;
        endpoint::set_cookie(sessions::cookie_for(ctx.state.settings(), &signed_in.token));
        Ok(endpoint::navigate_to("/settings/account"))
    })
    .await
}

/// "Sign in". Returns the page to open next: `next` when it is a path on this site,
/// otherwise Settings → Account.
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use crate::backend::{accounts, endpoint, request::Ctx, sessions};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let now = ctx.state.clock().now();
        let signed_in =
            accounts::sign_in(&ctx.state, &email, &password, &ctx.client(), now).await?;
        endpoint::set_cookie(sessions::cookie_for(ctx.state.settings(), &signed_in.token));
        let next = crate::validation::safe_next_path(next.as_deref());
        if signed_in.second_factor_pending {
            return Ok(endpoint::navigate_to(
                &crate::validation::second_factor_path(&next),
            ));
        }
        Ok(endpoint::navigate_to(&next))
    })
    .await
}

/// "Sign out": ends this session. Returns the sign-in page's path.
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<String, AppError> {
    use crate::backend::{accounts, endpoint, request::Ctx, sessions};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        // Also ends a sign-in that was waiting for its second factor.
        if let Some(auth) = ctx.session().or_else(|| ctx.require_pending().ok()) {
            let now = ctx.state.clock().now();
            accounts::sign_out(&ctx.state, &auth, &ctx.client(), now).await?;
        }
        endpoint::set_cookie(sessions::clearing_cookie(&ctx.state.settings().public_url));
        Ok(endpoint::navigate_to("/login"))
    })
    .await
}

/// The signed-in person, or `None` for a visitor.
#[server(prefix = "/api", endpoint = "current_user")]
pub async fn load_current_user() -> Result<Option<CurrentUser>, AppError> {
    use crate::backend::{endpoint, profile, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        match ctx.session() {
            Some(auth) => Ok(Some(profile::current_user(&ctx.state, &auth).await?)),
            None => Ok(None),
        }
    })
    .await
}
