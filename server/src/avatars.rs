//! Profile pictures over HTTP: the upload (`POST /account/avatar`, multipart, streamed with
//! its own size limit) and the pictures themselves (`GET /avatars/<sha256>.jpg`).

use crate::middleware::error_response;
use app::{
    backend::{
        profile::{self, MAX_UPLOAD_BYTES},
        rate_limit,
        request::{ClientInfo, RequestId, SessionLookup},
        state::AppState,
    },
    error::AppError,
};
use axum::{
    Extension, Json, Router,
    extract::{DefaultBodyLimit, Multipart, Path, multipart::MultipartError},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Serialize;

/// The multipart envelope around the file adds a little to the body.
const BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 64 * 1024;

pub fn routes() -> Router {
    Router::new()
        .route("/account/avatar", post(upload))
        // Enforced while the body streams in, so an oversized upload is cut off at the
        // limit rather than read whole.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .route("/avatars/{file}", get(serve))
}

#[derive(Serialize)]
struct Uploaded {
    avatar_url: String,
}

/// Receives a picture in the multipart field `avatar`, makes the 256x256 JPEG and stores
/// it. Answers `{"avatar_url": …}`, or an error in the same shape server functions use.
async fn upload(
    Extension(state): Extension<AppState>,
    Extension(session): Extension<SessionLookup>,
    Extension(client): Extension<ClientInfo>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let plain_form = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let fail = |error: AppError| error_response(!plain_form, error);
    let reference = request_id.0.to_string();

    let Some(auth) = session.live else {
        return fail(AppError::Unauthenticated);
    };
    // As for every server function: until a required second factor is set up, nothing else.
    if auth.must_enrol() {
        return fail(AppError::TwoFactorSetupRequired);
    }
    // A declared length over the limit is refused before reading anything.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return fail(too_large());
    }
    let Ok(multipart) = multipart else {
        return fail(AppError::UnsupportedMediaType);
    };
    let now = state.clock().now();
    let limit = state.settings().avatar_upload_rate;
    match rate_limit::hit(state.db(), &format!("avatar:{}", auth.user.id), limit, now).await {
        Ok(Ok(())) => {}
        Ok(Err(wait)) => {
            return fail(AppError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        Err(error) => {
            return fail(app::backend::error::Error::from(error).into_app_error_with(reference));
        }
    }

    let bytes = match read_file(multipart).await {
        Ok(bytes) => bytes,
        Err(error) => return fail(error),
    };
    match profile::set_avatar(&state, &auth, bytes, &client, now).await {
        Ok(_) if plain_form => Redirect::to("/settings/account").into_response(),
        Ok(avatar_url) => Json(Uploaded { avatar_url }).into_response(),
        Err(error) => fail(error.into_app_error_with(reference)),
    }
}

/// Reads the `avatar` field, refusing it as soon as it passes the size limit.
async fn read_file(mut multipart: Multipart) -> Result<Vec<u8>, AppError> {
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("avatar") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(AppError::invalid("avatar", "Choose an image to upload."));
        }
        return Ok(bytes);
    }
    Err(AppError::invalid("avatar", "Choose an image to upload."))
}

fn multipart_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::BadRequest
    }
}

fn too_large() -> AppError {
    AppError::PayloadTooLarge
}

/// `GET /avatars/<sha256>.jpg`: the picture, cacheable forever (a new picture has a new
/// hash, so a new address). Revalidation with the hash as a strong ETag answers 304.
async fn serve(
    Extension(state): Extension<AppState>,
    Extension(request_id): Extension<RequestId>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(hash) = file
        .strip_suffix(".jpg")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{hash}\"");
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    match profile::avatar_by_hash(state.db(), hash).await {
        Ok(Some(_)) if matches => {
            (StatusCode::NOT_MODIFIED, [cache, etag_header(&etag)]).into_response()
        }
        Ok(Some(image)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                cache,
                etag_header(&etag),
            ],
            image,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => error_response(false, error.into_app_error_with(request_id.0.to_string())),
    }
}

fn etag_header(etag: &str) -> (header::HeaderName, HeaderValue) {
    (
        header::ETAG,
        HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
    )
}
