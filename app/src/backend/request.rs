//! Facts about the current request, put in the request's extensions by the server's
//! middleware and read back here through the `Parts` Leptos provides to server functions
//! and to server-side rendering.

use super::{error::Error, sessions::Authenticated, state::AppState};
use crate::{api::EndReason, error::AppError};
use http::request::Parts;
use leptos::prelude::use_context;
use std::sync::Arc;

/// The correlation id of a request: in every log line for it, in its `x-request-id`
/// response header, and in any error message the user sees, so support can find the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

/// Who is on the other end, as far as the server can tell.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The per-request nonce that lets the page's own inline scripts run under the CSP.
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

/// The session found for the request's cookie; set by the server's session middleware
/// before any handler runs, so each request costs one session lookup.
#[derive(Clone, Debug, Default)]
pub struct SessionLookup {
    /// The live session, if any.
    pub live: Option<Arc<Authenticated>>,
    /// A sign-in waiting for its second factor, if that is what the cookie holds.
    pub pending: Option<Arc<Authenticated>>,
    /// Why the cookie's session was ended from elsewhere, if it was.
    pub ended: Option<EndReason>,
}

/// The request as a server function sees it.
pub struct Ctx {
    pub state: AppState,
    pub parts: Parts,
}

impl Ctx {
    /// The context of the running server function or page render.
    pub fn current() -> Result<Self, Error> {
        let state = use_context::<AppState>()
            .ok_or_else(|| Error::internal("application state is not in context"))?;
        let parts =
            use_context::<Parts>().ok_or_else(|| Error::internal("request is not in context"))?;
        Ok(Ctx { state, parts })
    }

    pub fn client(&self) -> ClientInfo {
        self.parts
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_default()
    }

    /// The signed-in user and session, if any.
    pub fn session(&self) -> Option<Arc<Authenticated>> {
        self.parts
            .extensions
            .get::<SessionLookup>()
            .and_then(|lookup| lookup.live.clone())
    }

    /// The signed-in user and session, or 401. Every server function that acts for a user
    /// starts here: the user always comes from the session, never from the request body.
    /// Someone whose organisation requires two-factor authentication but who has not set
    /// it up gets 403 here; only the set-up itself uses
    /// [`Ctx::require_session_for_enrolment`].
    pub fn require_session(&self) -> Result<Arc<Authenticated>, Error> {
        let auth = self.require_session_for_enrolment()?;
        if auth.must_enrol() {
            return Err(AppError::TwoFactorSetupRequired.into());
        }
        Ok(auth)
    }

    /// A sign-in waiting for its second factor, or 401. Only the code step accepts it.
    pub fn require_pending(&self) -> Result<Arc<Authenticated>, Error> {
        self.parts
            .extensions
            .get::<SessionLookup>()
            .and_then(|lookup| lookup.pending.clone())
            .ok_or(Error::App(AppError::Unauthenticated))
    }

    /// The signed-in user even when they still have to set up two-factor authentication.
    pub fn require_session_for_enrolment(&self) -> Result<Arc<Authenticated>, Error> {
        let lookup = self.parts.extensions.get::<SessionLookup>();
        if let Some(live) = lookup.and_then(|lookup| lookup.live.clone()) {
            return Ok(live);
        }
        Err(match lookup.and_then(|lookup| lookup.ended) {
            Some(reason) => AppError::SessionEnded { reason },
            None => AppError::Unauthenticated,
        }
        .into())
    }
}

/// The current request's reference for error messages, or a fresh one outside a request.
pub fn reference() -> String {
    use_context::<Parts>()
        .and_then(|parts| {
            parts
                .extensions
                .get::<RequestId>()
                .map(|id| id.0.to_string())
        })
        .unwrap_or_else(super::tokens::short_id)
}
