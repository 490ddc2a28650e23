//! The one error type every server function returns.
//!
//! It crosses the network, so it carries only what the person in front of the screen may
//! see: which field is wrong and why, how long to wait, or a reference they can quote to
//! support. Internal causes (database errors, panics) are logged on the server under that
//! reference and never serialised.
//!
//! [`AppError::status`] is the single place that maps an error to its HTTP status.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, IntoAppError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A problem with one field of a form, shown next to that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field's `name`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// 422: the request was understood but some fields are not acceptable.
    #[error("{}", join_messages(.0))]
    Invalid(Vec<FieldError>),

    /// 400: the request itself is malformed (missing fields, wrong encoding).
    #[error("The request could not be understood. Reload the page and try again.")]
    BadRequest,

    /// 401: the email and password do not match an account. Deliberately the same for an
    /// unknown email and a wrong password.
    #[error("Incorrect email or password.")]
    InvalidCredentials,

    /// 403: the current password typed to confirm a change is wrong. Shown next to the
    /// "Current password" field.
    #[error("That is not your current password.")]
    IncorrectPassword,

    /// 403: a sensitive action needs the password entered within the last few minutes; the
    /// page asks for it inline and carries on.
    #[error("For your security, enter your password to continue.")]
    PasswordConfirmationRequired,

    /// 403: the organisation requires two-factor authentication and this person has not set
    /// it up; until they do, they can only set it up or sign out.
    #[error(
        "Your organisation requires two-factor authentication. Set it up in Settings → Account \
         to continue."
    )]
    TwoFactorSetupRequired,

    /// 401: the session was ended from elsewhere (a password change, "Sign out" on another
    /// device); the page sends the person to sign in and says why.
    #[error("{}", reason.message())]
    SessionEnded { reason: crate::api::EndReason },

    /// 401: no valid session; the page sends the visitor to sign in.
    #[error("Your session has ended. Sign in again to continue.")]
    Unauthenticated,

    /// 403: signed in, but not allowed to do this.
    #[error("You don't have permission to do that.")]
    Forbidden,

    /// 403: a state-changing request that did not come from this site.
    #[error("This request came from another site and was refused.")]
    CrossSiteRequest,

    /// 404
    #[error("We couldn't find that.")]
    NotFound,

    /// 409: the change conflicts with existing data (for example an address in use).
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },

    /// 413
    #[error("That is too large to upload.")]
    PayloadTooLarge,

    /// 415
    #[error("That kind of request is not accepted here.")]
    UnsupportedMediaType,

    /// 429: throttled; the client may retry after the given number of seconds.
    #[error("Too many attempts. Try again in {}.", wait_phrase(*retry_after_secs))]
    TooManyRequests { retry_after_secs: u64 },

    /// 503: the database (or another dependency) is unreachable; it recovers by itself.
    #[error(
        "ImportOps is temporarily unavailable. Try again in a moment. (Reference: {reference})"
    )]
    Unavailable { reference: String },

    /// 500: a bug or an unexpected failure, logged under `reference`.
    #[error("Something went wrong on our side. (Reference: {reference})")]
    Internal { reference: String },

    /// The browser could not reach the server or read its reply. Never produced by the
    /// server itself.
    #[error("Couldn't reach ImportOps. Check your connection and try again.")]
    Network,
}

impl AppError {
    /// A single-field validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }

    /// The HTTP status this error is sent with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::BadRequest => 400,
            AppError::InvalidCredentials | AppError::Unauthenticated => 401,
            AppError::Forbidden
            | AppError::CrossSiteRequest
            | AppError::IncorrectPassword
            | AppError::PasswordConfirmationRequired
            | AppError::TwoFactorSetupRequired => 403,
            AppError::SessionEnded { .. } => 401,
            AppError::NotFound => 404,
            AppError::Conflict { .. } => 409,
            AppError::PayloadTooLarge => 413,
            AppError::UnsupportedMediaType => 415,
            AppError::TooManyRequests { .. } => 429,
            AppError::Internal { .. } => 500,
            AppError::Unavailable { .. } | AppError::Network => 503,
        }
    }

    /// The message for one field, if this error names it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            AppError::Conflict {
                field: Some(f),
                message,
            } if f == field => Some(message.clone()),
            AppError::IncorrectPassword if field == "current_password" => Some(self.to_string()),
            _ => None,
        }
    }

    /// Whether the error is about specific fields (shown beside them) rather than the form.
    pub fn is_field_error(&self) -> bool {
        matches!(
            self,
            AppError::Invalid(_)
                | AppError::Conflict { field: Some(_), .. }
                | AppError::IncorrectPassword
        )
    }
}

fn join_messages(errors: &[FieldError]) -> String {
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    messages.join(" ")
}

fn wait_phrase(seconds: u64) -> String {
    match seconds {
        0 | 1 => "a second".to_owned(),
        2..=119 => format!("{seconds} seconds"),
        120..=7199 => format!("{} minutes", seconds.div_ceil(60)),
        _ => format!("{} hours", seconds.div_ceil(3600)),
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = match value {
            // The request could not be decoded into the function's arguments.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => AppError::BadRequest,
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Network,
            other => {
                // Only reachable on the server for framework-level failures; the cause is
                // logged there and the client sees a plain internal error.
                #[cfg(feature = "ssr")]
                tracing::error!(cause = %other, "server function framework error");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                AppError::Internal {
                    reference: crate::backend_reference(),
                }
            }
        };
        #[cfg(feature = "ssr")]
        crate::backend::endpoint::apply_status(&error);
        error
    }
}

/// Lets `?` turn a framework error into an [`AppError`] in client code.
impl From<ServerFnErrorErr> for AppError {
    fn from(value: ServerFnErrorErr) -> Self {
        value.into_app_error()
    }
}

/// Shown where a list of field messages is rendered as one sentence.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_client_errors_for_bad_input() {
        assert_eq!(AppError::invalid("email", "x").status(), 422);
        assert_eq!(AppError::BadRequest.status(), 400);
        assert_eq!(AppError::InvalidCredentials.status(), 401);
        assert_eq!(
            AppError::TooManyRequests {
                retry_after_secs: 3
            }
            .status(),
            429
        );
    }

    #[test]
    fn wait_phrases_read_naturally() {
        assert_eq!(
            AppError::TooManyRequests {
                retry_after_secs: 1
            }
            .to_string(),
            "Too many attempts. Try again in a second."
        );
        assert_eq!(
            AppError::TooManyRequests {
                retry_after_secs: 10
            }
            .to_string(),
            "Too many attempts. Try again in 10 seconds."
        );
        assert_eq!(
            AppError::TooManyRequests {
                retry_after_secs: 3600
            }
            .to_string(),
            "Too many attempts. Try again in 60 minutes."
        );
        assert_eq!(
            AppError::TooManyRequests {
                retry_after_secs: 86_400
            }
            .to_string(),
            "Too many attempts. Try again in 24 hours."
        );
    }

    #[test]
    fn field_messages_are_found_by_name() {
        let error = AppError::Invalid(vec![
            FieldError::new("first_name", "Enter your first name."),
            FieldError::new("email", "Enter a valid email address."),
        ]);
        assert_eq!(
            error.field_message("email").as_deref(),
            Some("Enter a valid email address.")
        );
        assert_eq!(error.field_message("password"), None);
    }
}
