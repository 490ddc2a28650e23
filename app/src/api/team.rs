//! Settings → Team & roles.

use super::TeamMember;
use crate::error::AppError;
use leptos::prelude::*;

/// The members of the signed-in person's organisation.
#[server(prefix = "/api", endpoint = "team_members")]
pub async fn team_members() -> Result<Vec<TeamMember>, AppError> {
    use crate::backend::{endpoint, request::Ctx, team};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        team::members(&ctx.state, &auth).await
    })
    .await
}
