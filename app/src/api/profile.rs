//! Settings → Account → "Your profile": names and the profile picture. The picture itself
//! is uploaded to `POST /account/avatar` (a plain route, so the upload can stream with its
//! own size limit and report progress).

use super::CurrentUser;
use crate::error::AppError;
use leptos::prelude::*;

/// "Save": changes the first and last name. Returns the person as they now are.
#[server(prefix = "/api", endpoint = "update_profile")]
pub async fn update_profile(
    first_name: String,
    last_name: String,
) -> Result<CurrentUser, AppError> {
    use crate::backend::{endpoint, profile, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        let now = ctx.state.clock().now();
        profile::update_names(
            &ctx.state,
            &auth,
            &first_name,
            &last_name,
            &ctx.client(),
            now,
        )
        .await?;
        let mut current = profile::current_user(&ctx.state, &auth).await?;
        // The session was loaded before the change.
        current.first_name = first_name.trim().to_owned();
        current.last_name = last_name.trim().to_owned();
        Ok(current)
    })
    .await
}

/// "Remove avatar": back to initials.
#[server(prefix = "/api", endpoint = "remove_avatar")]
pub async fn remove_avatar() -> Result<(), AppError> {
    use crate::backend::{endpoint, profile, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        let now = ctx.state.clock().now();
        profile::remove_avatar(&ctx.state, &auth, &ctx.client(), now).await
    })
    .await
}
