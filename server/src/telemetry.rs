//! Structured logs through `tracing`.
//!
//! Policy: a readable message plus structured fields. `error` is a failure someone must
//! look at, `warn` a refused or degraded request, `info` one line per request and per
//! security event, `debug` detail for development. Never logged at any level: passwords,
//! password hashes, TOTP secrets or codes, recovery codes, session or email tokens,
//! cookies, and URLs with query strings; email addresses only at `debug` and below.

use crate::config::LogFormat;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Libraries that are noisy at `info`; the operator's filter can still raise them.
const QUIET: &str = "sqlx=warn,sea_orm=warn,sea_orm_migration=warn,leptos=warn,tachys=warn,hyper=warn,tower_http=warn";

pub fn init(filter: &str, format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::try_new(format!("{QUIET},{filter}"))
        .map_err(|e| format!("invalid log filter {filter:?}: {e}"))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Human => registry.with(fmt::layer().with_target(false)).try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
    result.map_err(|e| format!("cannot start logging: {e}"))
}
