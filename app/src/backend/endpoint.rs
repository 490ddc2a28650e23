//! The wrapper every server function body runs in: it turns internal failures into the
//! user-facing error with a reference, and gives the HTTP response the error's status.

use super::error::Error;
use crate::error::AppError;
use http::{HeaderValue, StatusCode, header, request::Parts};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::future::Future;

pub async fn run<T>(body: impl Future<Output = Result<T, Error>>) -> Result<T, AppError> {
    body.await.map_err(|error| {
        let error = error.into_app_error();
        apply_status(&error);
        error
    })
}

/// Sets the response status (and `Retry-After` when throttled) for an error.
///
/// A plain HTML form post (the page had not loaded its script yet) is the exception: the
/// framework answers it with a redirect back to the form carrying the error, which the page
/// then shows; a 4xx status there would replace that redirect with a bare error body.
pub fn apply_status(error: &AppError) {
    let (Some(response), Some(parts)) = (use_context::<ResponseOptions>(), use_context::<Parts>())
    else {
        return;
    };
    if is_plain_form_post(&parts) {
        return;
    }
    if let Ok(status) = StatusCode::from_u16(error.status()) {
        response.set_status(status);
    }
    if let AppError::TooManyRequests { retry_after_secs } = error {
        response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
}

/// A form submitted by the browser itself (no script), which expects an HTML page back.
pub fn is_plain_form_post(parts: &Parts) -> bool {
    parts.method == http::Method::POST
        && parts
            .headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// After a successful action that moves the user to another page: a plain form post gets a
/// redirect, a script caller gets the path back and navigates itself.
pub fn navigate_to(path: &str) -> String {
    if use_context::<Parts>().is_some_and(|parts| is_plain_form_post(&parts)) {
        leptos_axum::redirect(path);
    }
    path.to_owned()
}

/// Adds a `Set-Cookie` header to the response.
pub fn set_cookie(value: HeaderValue) {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.append_header(header::SET_COOKIE, value);
    }
}
