//! Settings → Account → Email: "Change email", and the pages its links open.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a link from an email leads to, shown before anything changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailLink {
    /// The link works and would set this address.
    Ready {
        email: String,
    },
    Expired,
    /// Never issued, already used, or replaced by a newer request.
    Unknown,
}

/// Which emailed link a page or answer is about. Their dead ends need different advice:
/// whoever asked for a confirmation link is signed in and can ask again, while whoever holds
/// an undo link may have lost the account to someone else and cannot reach its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// "Confirm email change", mailed to the new address.
    Confirm,
    /// "This wasn't me", mailed to the old address after a change.
    Undo,
}

/// The page a dead link opens and the refusal of its button say the same, from here.
impl LinkKind {
    /// What to do about a link that has expired.
    pub fn expired_message(self) -> &'static str {
        match self {
            LinkKind::Confirm => {
                "This link has expired. You can request a new one from Settings → Account."
            }
            LinkKind::Undo => {
                "This link has expired: a change of email address can be undone from the \
                 notice for 7 days only. If you can sign in with the address the account uses \
                 now, sign in and change it back in Settings → Account. If you can't, ask an \
                 admin of your organisation to help you back into your account."
            }
        }
    }

    /// What to do about a link that was never issued, was already used or was replaced.
    pub fn unknown_message(self) -> &'static str {
        match self {
            LinkKind::Confirm => {
                "This link is no longer valid: it was already used, or a newer request \
                 replaced it. You can request a new one from Settings → Account."
            }
            LinkKind::Undo => {
                "This link no longer works: it was already used, or it is incomplete (copy the \
                 whole link from the message). If the change was already undone, sign in with \
                 the address this link was sent to. Otherwise, sign in with the address the \
                 account uses now if you can; if you can't, ask an admin of your organisation \
                 to help you back into your account."
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::backend::email_change::LinkState> for EmailLink {
    fn from(state: crate::backend::email_change::LinkState) -> Self {
        use crate::backend::email_change::LinkState;
        match state {
            LinkState::Ready { email } => EmailLink::Ready { email },
            LinkState::Expired => EmailLink::Expired,
            LinkState::Unknown => EmailLink::Unknown,
        }
    }
}

/// "Change email" → "Confirm": checks the current password and mails a confirmation link
/// to the new address. Returns the new address, now pending.
#[server(prefix = "/api", endpoint = "request_email_change")]
pub async fn request_email_change(
    current_password: String,
    new_email: String,
) -> Result<String, AppError> {
    use crate::backend::{email_change, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        let now = ctx.state.clock().now();
        email_change::request(
            &ctx.state,
            &auth,
            &current_password,
            &new_email,
            &ctx.client(),
            now,
        )
        .await
    })
    .await
}

/// "Resend": a fresh link for the pending change.
#[server(prefix = "/api", endpoint = "resend_email_change")]
pub async fn resend_email_change() -> Result<(), AppError> {
    use crate::backend::{email_change, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        email_change::resend(&ctx.state, &auth, ctx.state.clock().now()).await
    })
    .await
}

/// "Cancel": forgets the pending change.
#[server(prefix = "/api", endpoint = "cancel_email_change")]
pub async fn cancel_email_change() -> Result<(), AppError> {
    use crate::backend::{email_change, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let auth = ctx.require_session()?;
        email_change::cancel(&ctx.state, &auth, &ctx.client(), ctx.state.clock().now()).await
    })
    .await
}

/// What a confirmation link would do. Changes nothing: mail scanners open links.
#[server(prefix = "/api", endpoint = "inspect_email_change")]
pub async fn inspect_email_change(token: String) -> Result<EmailLink, AppError> {
    use crate::backend::{email_change, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let state = email_change::inspect(ctx.state.db(), &token, ctx.state.clock().now()).await?;
        Ok(state.into())
    })
    .await
}

/// "Confirm email change": applies it. Works signed in or not, on any device. Returns the
/// new address.
#[server(prefix = "/api", endpoint = "confirm_email_change")]
pub async fn confirm_email_change(token: String) -> Result<String, AppError> {
    use crate::backend::{email_change, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        email_change::confirm(&ctx.state, &token, &ctx.client(), ctx.state.clock().now()).await
    })
    .await
}

/// What a "This wasn't me" link would do. Changes nothing.
#[server(prefix = "/api", endpoint = "inspect_email_revert")]
pub async fn inspect_email_revert(token: String) -> Result<EmailLink, AppError> {
    use crate::backend::{email_change, endpoint, request::Ctx};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let state =
            email_change::inspect_revert(ctx.state.db(), &token, ctx.state.clock().now()).await?;
        Ok(state.into())
    })
    .await
}

/// "This wasn't me": puts the old address back and signs out every session. Returns the
/// restored address.
#[server(prefix = "/api", endpoint = "revert_email_change")]
pub async fn revert_email_change(token: String) -> Result<String, AppError> {
    use crate::backend::{email_change, endpoint, request::Ctx, sessions};
    endpoint::run(async move {
        let ctx = Ctx::current()?;
        let restored =
            email_change::revert(&ctx.state, &token, &ctx.client(), ctx.state.clock().now())
                .await?;
        // This browser's session (if any) ended with all the others.
        endpoint::set_cookie(sessions::clearing_cookie(&ctx.state.settings().public_url));
        Ok(restored)
    })
    .await
}
