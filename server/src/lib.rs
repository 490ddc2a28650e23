//! The `importops` server: configuration, wiring, and the routes that are not server
//! functions. Pages and `/api/` server functions come from the `app` crate.

// Rendering the pages' view types nests deeply.
#![recursion_limit = "256"]

pub mod avatars;
pub mod config;
pub mod middleware;
pub mod telemetry;

use app::{
    App,
    backend::{
        clock::{Clock, SystemClock},
        db::{self, ConnectSettings},
        mail::Mailer,
        maintenance,
        request::CspNonce,
        secret_key::SecretKey,
        state::AppState,
    },
    shell,
};
use axum::{
    Router,
    body::Body,
    extract::Request,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use config::Config;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use middleware::HttpSettings;
use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};
use tower_http::{
    catch_panic::CatchPanicLayer, compression::CompressionLayer, limit::RequestBodyLimitLayer,
    services::ServeDir,
};

/// The largest request body accepted by pages and server functions. The avatar upload
/// route sets its own.
const BODY_LIMIT: usize = 64 * 1024;

/// How often expired sessions and stale counters are cleaned up.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// How long shutting down waits for the mail worker to finish the message in hand.
const MAIL_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything `serve` needs that is not the application state.
#[derive(Clone)]
pub struct Site {
    pub leptos_options: LeptosOptions,
    pub http: HttpSettings,
}

impl Site {
    pub fn new(site_root: &Path, listen: SocketAddr, http: HttpSettings) -> Self {
        let leptos_options = LeptosOptions::builder()
            .output_name("importops")
            .site_root(site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(listen)
            .env(leptos::config::Env::PROD)
            .build();
        Site {
            leptos_options,
            http,
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState, site: Site) -> Router {
    let options = site.leptos_options.clone();
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || provide_request_context(&state)
    };
    let render_shell = {
        let options = options.clone();
        move || shell(options.clone())
    };
    let pkg_dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);

    let pages_and_functions = Router::new()
        .route("/healthz", get(health))
        .route("/api/{*fn_name}", post(server_function))
        .leptos_routes_with_context(&options, routes, context.clone(), render_shell)
        .nest_service("/pkg", ServeDir::new(pkg_dir))
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .with_state(options)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT));

    Router::new()
        .merge(avatars::routes())
        .merge(pages_and_functions)
        // Inside the other layers, so a request that panics still gets the security
        // headers, its reference and the usual error page.
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::Extension(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::session,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::cross_site_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            site.http,
            middleware::request_context,
        ))
        .layer(CompressionLayer::new().compress_when(CompressStaticAssets))
        // A last resort for a panic in the middleware itself.
        .layer(CatchPanicLayer::new())
}

/// Compresses the built assets only. Pages are small and, since they can echo what a
/// visitor typed next to personal data, are left uncompressed (no BREACH-style oracle).
#[derive(Clone, Copy)]
struct CompressStaticAssets;

impl tower_http::compression::Predicate for CompressStaticAssets {
    fn should_compress<B>(&self, response: &http::Response<B>) -> bool
    where
        B: http_body::Body,
    {
        response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.starts_with("application/wasm")
                    || ct.starts_with("text/javascript")
                    || ct.starts_with("application/javascript")
                    || ct.starts_with("text/css")
            })
    }
}

/// What every server function and page render can reach: the application state, and the
/// CSP nonce for this request's inline scripts.
fn provide_request_context(state: &AppState) {
    provide_context(state.clone());
    let nonce = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(nonce)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}

async fn server_function(
    axum::Extension(state): axum::Extension<AppState>,
    request: Request<Body>,
) -> impl IntoResponse {
    leptos_axum::handle_server_fns_with_context(move || provide_request_context(&state), request)
        .await
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn health(axum::Extension(state): axum::Extension<AppState>) -> Response {
    match db::ping(state.db()).await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(error) => {
            tracing::warn!(cause = %error, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Opens the database named by the configuration and applies migrations.
pub async fn open_database(config: &Config) -> Result<sea_orm::DatabaseConnection, String> {
    let url = config.database_url();
    let connection = db::connect(ConnectSettings {
        url: &url,
        max_connections: 16,
        schema: None,
    })
    .await
    .map_err(|e| format!("cannot open the database: {e}"))?;
    db::migrate(&connection)
        .await
        .map_err(|e| format!("cannot migrate the database: {e}"))?;
    Ok(connection)
}

pub fn load_secret_key(config: &Config) -> Result<SecretKey, String> {
    match &config.secret_key {
        Some(hex) => SecretKey::from_hex(hex).map_err(|e| format!("IMPORTOPS_SECRET_KEY: {e}")),
        None => {
            let path = config.data_dir.join("secret.key");
            if db::Backend::of_url(&config.database_url()) == Ok(db::Backend::Postgres) {
                // Fine for one instance; several would each make a key of their own.
                tracing::warn!(
                    path = %path.display(),
                    "IMPORTOPS_SECRET_KEY is not set: using a key file in the data directory; \
                     give every instance that shares this database the same key"
                );
            }
            SecretKey::load_or_create(&path)
        }
    }
}

/// Serves until interrupted (Ctrl-C or SIGTERM), then finishes in-flight requests.
pub async fn serve(config: Config) -> Result<(), String> {
    let db = open_database(&config).await?;
    let secret_key = load_secret_key(&config)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = AppState::new(db, config.settings(), clock, secret_key);
    let http = HttpSettings {
        trusted_proxies: config.trusted_proxies.clone().into(),
    };
    let site = Site::new(&config.site_root, config.listen, http);
    if !Path::new(&*site.leptos_options.site_root)
        .join("pkg")
        .exists()
    {
        tracing::warn!(
            site_root = %config.site_root.display(),
            "no built assets found; pages will load without their script and styles (run `make run`)"
        );
    }

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let mailer = Mailer::new(state.clone(), config.mail_settings())?.start();
    spawn_maintenance(state.clone());
    tracing::info!(url = %config.public_url.origin(), listen = %config.listen, "ImportOps is running");
    println!("ImportOps is running at {}", config.public_url.origin());

    let app = router(state, site).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"));
    mailer.shutdown(MAIL_SHUTDOWN_GRACE).await;
    served
}

fn spawn_maintenance(state: AppState) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(MAINTENANCE_INTERVAL);
        loop {
            interval.tick().await;
            if let Err(error) = maintenance::run_once(&state).await {
                tracing::warn!(cause = %error, "maintenance failed; will retry");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
