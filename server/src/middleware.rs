//! The layers every request passes through, outermost first:
//!
//! 1. [`request_context`]: a correlation id, the client's address and user agent, a tracing
//!    span, and one log line per request.
//! 2. [`security_headers`]: the CSP nonce and the security headers on every response.
//! 3. [`cross_site_guard`]: refuses state-changing requests from other sites, and server
//!    function calls with an unexpected content type.
//! 4. [`session`]: finds the session for the cookie (one lookup per request), and sends
//!    signed-out visitors of settings pages to sign in.

use app::{
    backend::{
        request::{ClientInfo, CspNonce, RequestId, SessionLookup},
        sessions::{self, Resolution},
        state::AppState,
        tokens,
    },
    error::AppError,
    validation,
};
use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD};
use rand::RngCore;
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Instant,
};
use tracing::Instrument;

/// Settings the middleware needs beyond the application state.
#[derive(Clone)]
pub struct HttpSettings {
    pub trusted_proxies: Arc<[IpAddr]>,
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn request_context(
    State(http): State<HttpSettings>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = tokens::short_id();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let client = ClientInfo {
        ip: client_ip(peer, request.headers(), &http.trusted_proxies).map(|ip| ip.to_string()),
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|ua| ua.to_str().ok())
            .map(str::to_owned),
    };
    let method = request.method().clone();
    // The path only: query strings can carry tokens and never reach the logs.
    let path = request.uri().path().to_owned();
    request
        .extensions_mut()
        .insert(RequestId(id.clone().into()));
    request.extensions_mut().insert(client);

    let is_api = path.starts_with("/api/");
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let mut response = next.run(request).instrument(span.clone()).await;
    if response.extensions().get::<Panicked>().is_some() {
        response = error_response(
            is_api,
            AppError::Internal {
                reference: id.clone(),
            },
        );
    }
    let status = response.status().as_u16();
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if is_static_asset(&path) {
            tracing::debug!(status, elapsed_ms, "request finished");
        } else if status >= 500 {
            tracing::error!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

/// Marks the answer to a request whose handler panicked, for [`request_context`] to turn into
/// the usual error with the request's reference.
#[derive(Clone, Copy)]
struct Panicked;

/// What a panicking handler answers (through tower-http's `CatchPanicLayer`). The panic's
/// own message went to the panic hook; this notes it in the request's log span.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("the request's handler panicked");
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(Panicked);
    response
}

/// The client's address: the socket's peer, or, when that peer is a trusted proxy, the
/// last address in `X-Forwarded-For` that is not itself a trusted proxy.
fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(peer),
    )
}

pub async fn security_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut nonce_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce_bytes);
    let nonce = STANDARD_NO_PAD.encode(nonce_bytes);
    request
        .extensions_mut()
        .insert(CspNonce(nonce.clone().into()));
    let static_asset = is_static_asset(request.uri().path());
    let token_page = request.uri().path().starts_with("/account/email/");

    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self' blob:; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    );
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.entry(name).or_insert(value);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Pages opened from links in email carry a token in their address: no referrer at all.
    let referrer = if token_page {
        "no-referrer"
    } else {
        "same-origin"
    };
    set(header::REFERRER_POLICY, referrer);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if state.settings().public_url.is_secure() {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    // Pages and API answers can carry personal data: never stored by browsers or proxies.
    // Built assets may be cached but are revalidated, since their names are not hashed.
    set(
        header::CACHE_CONTROL,
        if static_asset { "no-cache" } else { "no-store" },
    );
    response
}

/// Refuses state-changing requests that another site made the browser send,
/// and server function calls with a body type no server function accepts.
///
/// Browsers send `Sec-Fetch-Site` on every request; when present it decides alone. Older
/// browsers and other clients are judged by `Origin`, which must be this site's origin.
pub async fn cross_site_guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_safe_method(request.method()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let same_site = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin",
        None => headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|origin| origin == state.settings().public_url.origin()),
    };
    let is_api = request.uri().path().starts_with("/api/");
    if !same_site {
        tracing::warn!("cross-site request refused");
        return error_response(is_api, AppError::CrossSiteRequest);
    }
    if is_api && !has_accepted_content_type(headers) {
        return error_response(is_api, AppError::UnsupportedMediaType);
    }
    next.run(request).await
}

fn has_accepted_content_type(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/x-www-form-urlencoded" | "multipart/form-data" | "application/json"
    )
}

/// Resolves the session once per request and guards the signed-in pages.
pub async fn session(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_static_asset(&path) || path == "/healthz" || path.starts_with("/avatars/") {
        return next.run(request).await;
    }
    let is_api = path.starts_with("/api/");
    let settings = state.settings();
    let token = sessions::token_from(request.headers(), &settings.public_url);
    let now = state.clock().now();
    let resolution = match &token {
        Some(token) => match sessions::resolve(state.db(), settings, token, now).await {
            Ok(resolution) => resolution,
            Err(error) => {
                let error = app::backend::error::Error::from(error);
                let reference = request
                    .extensions()
                    .get::<RequestId>()
                    .map(|id| id.0.to_string())
                    .unwrap_or_default();
                tracing::warn!(%reference, cause = %error, "session lookup failed");
                return error_response(is_api, AppError::Unavailable { reference });
            }
        },
        None => Resolution::Gone,
    };
    let lookup = match resolution {
        Resolution::Live(authenticated) => SessionLookup {
            live: Some(Arc::from(authenticated)),
            ..SessionLookup::default()
        },
        Resolution::Pending(authenticated) => SessionLookup {
            pending: Some(Arc::from(authenticated)),
            ..SessionLookup::default()
        },
        Resolution::Ended(reason) => SessionLookup {
            ended: Some(reason),
            ..SessionLookup::default()
        },
        Resolution::Gone => SessionLookup::default(),
    };
    let signed_in = lookup.live.is_some();
    let waiting_for_code = lookup.pending.is_some();
    let must_enrol = lookup.live.as_ref().is_some_and(|auth| auth.must_enrol());
    let ended = lookup.ended;
    let stale_cookie = token.is_some() && !signed_in && !waiting_for_code;
    request.extensions_mut().insert(lookup);

    if is_safe_method(request.method()) && !is_api {
        if path == "/" {
            let mut response = match (signed_in, ended) {
                (true, _) => Redirect::to("/settings/account"),
                (false, Some(reason)) => {
                    Redirect::to(&validation::login_path("/settings/account", Some(reason)))
                }
                (false, None) => Redirect::to("/login"),
            }
            .into_response();
            if stale_cookie {
                clear_cookie(&mut response, &state);
            }
            return response;
        }
        let settings_page = path == "/settings" || path.starts_with("/settings/");
        let here = request
            .uri()
            .path_and_query()
            .map_or(path.as_str(), |pq| pq.as_str())
            .to_owned();
        // Half signed in: nothing but the code page until the second factor is in.
        if waiting_for_code && settings_page {
            return Redirect::to(&validation::second_factor_path(&here)).into_response();
        }
        if path == "/login/two-factor" {
            if signed_in {
                return Redirect::to("/settings/account").into_response();
            }
            if !waiting_for_code {
                return Redirect::to("/login").into_response();
            }
        }
        // Required two-factor authentication not set up yet: only the account page, where
        // the set-up is.
        if must_enrol && settings_page && path != "/settings/account" {
            return Redirect::to("/settings/account").into_response();
        }
        if !signed_in && settings_page {
            let mut response = Redirect::to(&validation::login_path(&here, ended)).into_response();
            if stale_cookie {
                clear_cookie(&mut response, &state);
            }
            return response;
        }
        if signed_in && (path == "/login" || path == "/signup") {
            return Redirect::to("/settings/account").into_response();
        }
    }

    let mut response = next.run(request).await;
    if stale_cookie && !response.headers().contains_key(header::SET_COOKIE) {
        clear_cookie(&mut response, &state);
    }
    response
}

fn clear_cookie(response: &mut Response, state: &AppState) {
    let value = sessions::clearing_cookie(&state.settings().public_url);
    response.headers_mut().append(header::SET_COOKIE, value);
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Built assets, served from the site root without touching the database.
pub fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg" || path == "/favicon.ico"
}

/// An error answered by the middleware itself: the server function error format for
/// `/api/` (so the page shows the message), a short plain page otherwise.
pub fn error_response(is_api: bool, error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if is_api {
        let body = serde_json::to_string(&error).unwrap_or_default();
        return (
            status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (HeaderName::from_static("serverfnerror"), "1"),
            ],
            body,
        )
            .into_response();
    }
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ImportOps</title>\
         <link rel=\"stylesheet\" href=\"/pkg/importops.css\"></head><body><main class=\"not-found\">\
         <h1>ImportOps</h1><p>{}</p></main></body></html>",
        html_escape(&error.to_string())
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from(page),
    )
        .into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ip_trusts_forwarded_for_only_from_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.7"),
        );
        // From a stranger, the header is ignored.
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            client_ip(Some(stranger), &headers, &[proxy]),
            Some(stranger)
        );
        // From the proxy, the last address it added is the client.
        assert_eq!(
            client_ip(Some(proxy), &headers, &[proxy]),
            Some("198.51.100.7".parse().unwrap())
        );
    }

    #[test]
    fn content_types_are_checked_by_essence() {
        let mut headers = HeaderMap::new();
        assert!(!has_accepted_content_type(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert!(has_accepted_content_type(&headers));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!has_accepted_content_type(&headers));
    }
}
