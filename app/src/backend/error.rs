//! The server-side error: either something to tell the user ([`AppError`]) or an internal
//! failure, which is logged with the request's reference and shown only as that reference.

use super::{db, request};
use crate::error::AppError;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    /// What the client sees. Internal causes are logged here, once, under the reference the
    /// user is shown (the current request's id).
    pub fn into_app_error(self) -> AppError {
        match self {
            Error::App(error) => error,
            other => other.into_app_error_with(request::reference()),
        }
    }

    /// Like [`Error::into_app_error`], for handlers outside server functions, which know
    /// their request's id from its extensions.
    pub fn into_app_error_with(self, reference: String) -> AppError {
        match self {
            Error::App(error) => error,
            Error::Db(error) if db::is_unavailable(&error) => {
                tracing::warn!(%reference, cause = %error, "database unavailable");
                AppError::Unavailable { reference }
            }
            Error::Db(error) => {
                tracing::error!(%reference, cause = %error, "database error");
                AppError::Internal { reference }
            }
            Error::Internal(cause) => {
                tracing::error!(%reference, %cause, "internal error");
                AppError::Internal { reference }
            }
        }
    }
}

impl From<crate::error::FieldError> for Error {
    fn from(error: crate::error::FieldError) -> Self {
        Error::App(AppError::Invalid(vec![error]))
    }
}
