//! Sign-in sessions, stored in the database.
//!
//! The browser holds a 256-bit random token in an HttpOnly cookie; the database holds only
//! the token's SHA-256, so neither a database copy nor a log line can be replayed. A session
//! ends after 30 minutes without use or 12 hours after sign-in, whichever comes first, and
//! both limits are enforced here on every request. Signing in always creates a new token;
//! an unknown token is never adopted.

use super::{
    clock::Timestamp,
    entities::{organisations, sessions, two_factor, users},
    request::ClientInfo,
    settings::{PublicUrl, Settings},
    tokens,
};
use crate::api::EndReason;
use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, header};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
    sea_query::{Expr, ExprTrait},
};
use std::{fmt, time::Duration};
use zeroize::Zeroizing;

/// Last-active times are written at most this often per session.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// User agents are stored for the sessions list; anything longer is cut.
const USER_AGENT_MAX: usize = 512;

/// The cookie value for a new session. Never printed.
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

/// How long a sign-in may wait for its second factor.
pub const SECOND_FACTOR_WINDOW: Duration = Duration::from_secs(5 * 60);

/// A signed-in user and the session they are using.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub user: users::Model,
    pub session: sessions::Model,
    /// Two-factor authentication is on for this person.
    pub two_factor_enabled: bool,
    /// Their organisation requires two-factor authentication.
    pub two_factor_required: bool,
}

impl Authenticated {
    /// In an organisation that requires two-factor authentication, someone without it may
    /// only set it up or sign out.
    pub fn must_enrol(&self) -> bool {
        self.two_factor_required && !self.two_factor_enabled
    }
}

/// What a cookie's token leads to.
#[derive(Clone, Debug)]
pub enum Resolution {
    Live(Box<Authenticated>),
    /// The password was right; the second factor is still awaited.
    Pending(Box<Authenticated>),
    /// The session was ended on purpose (from another device, or by a password change);
    /// the browser is told why on its next page.
    Ended(EndReason),
    /// Unknown, expired or signed out.
    Gone,
}

/// Creates a session for `user_id` and returns the token for its cookie. A session that
/// still needs the second factor lives only a few minutes.
pub async fn start(
    db: &impl ConnectionTrait,
    settings: &Settings,
    user_id: i64,
    second_factor_pending: bool,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<(SessionToken, sessions::Model), DbErr> {
    let token = tokens::random_token();
    let lifetime = if second_factor_pending {
        SECOND_FACTOR_WINDOW
    } else {
        settings.session_absolute_timeout
    };
    let session = sessions::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(tokens::digest(&token)),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now.plus(lifetime)),
        authenticated_at: Set(now),
        ip: Set(client.ip.clone()),
        user_agent: Set(client.user_agent.as_deref().map(truncate_user_agent)),
        revoked_reason: Set(None),
        second_factor_pending: Set(second_factor_pending),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((SessionToken(token), session))
}

/// Finds the session for a cookie token. Expired sessions are deleted on sight; revoked
/// ones are kept until their absolute end so the browser can be told why it was signed
/// out. A live one has its last-active time refreshed (at most once a minute, so browsing
/// costs one write per minute, not one per request).
pub async fn resolve(
    db: &impl ConnectionTrait,
    settings: &Settings,
    token: &str,
    now: Timestamp,
) -> Result<Resolution, DbErr> {
    let found = sessions::Entity::find()
        .filter(sessions::Column::TokenHash.eq(tokens::digest(token)))
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    let Some((mut session, Some(user))) = found else {
        return Ok(Resolution::Gone);
    };
    if let Some(reason) = session.revoked_reason.as_deref() {
        return Ok(match EndReason::from_stored(reason) {
            Some(reason) if now < session.expires_at => Resolution::Ended(reason),
            _ => Resolution::Gone,
        });
    }

    let idle_deadline = session.last_seen_at.plus(settings.session_idle_timeout);
    if now >= session.expires_at || now >= idle_deadline {
        sessions::Entity::delete_by_id(session.id).exec(db).await?;
        return Ok(Resolution::Gone);
    }

    let organisation = organisations::Entity::find_by_id(user.organisation_id)
        .one(db)
        .await?;
    let enrolment = two_factor::Entity::find_by_id(user.id).one(db).await?;
    let two_factor_enabled = enrolment.is_some_and(|row| row.enabled_at.is_some());
    let two_factor_required = organisation.is_some_and(|org| org.require_two_factor);
    if session.second_factor_pending {
        return Ok(Resolution::Pending(Box::new(Authenticated {
            user,
            session,
            two_factor_enabled,
            two_factor_required,
        })));
    }

    if session.last_seen_at.until(now) >= TOUCH_INTERVAL {
        // Conditional, so a burst of requests from one page writes once, not once each.
        sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
            .filter(sessions::Column::Id.eq(session.id))
            .filter(sessions::Column::LastSeenAt.lte(now.minus(TOUCH_INTERVAL)))
            .exec(db)
            .await?;
        session.last_seen_at = now;
    }
    Ok(Resolution::Live(Box::new(Authenticated {
        user,
        session,
        two_factor_enabled,
        two_factor_required,
    })))
}

/// Ends one session (sign out). Its cookie is dead from this moment.
pub async fn end(db: &impl ConnectionTrait, session_id: i64) -> Result<(), DbErr> {
    sessions::Entity::delete_by_id(session_id).exec(db).await?;
    Ok(())
}

/// Ends one of a person's sessions from elsewhere. Returns whether it was live.
pub async fn revoke(
    db: &impl ConnectionTrait,
    user_id: i64,
    session_id: i64,
    reason: EndReason,
) -> Result<bool, DbErr> {
    let result = sessions::Entity::update_many()
        .col_expr(
            sessions::Column::RevokedReason,
            Expr::value(reason.as_str()),
        )
        .filter(sessions::Column::Id.eq(session_id))
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::RevokedReason.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Ends every live session of a person except `keep` (if given). Returns how many ended.
pub async fn revoke_all(
    db: &impl ConnectionTrait,
    user_id: i64,
    keep: Option<i64>,
    reason: EndReason,
) -> Result<u64, DbErr> {
    let mut query = sessions::Entity::update_many()
        .col_expr(
            sessions::Column::RevokedReason,
            Expr::value(reason.as_str()),
        )
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::RevokedReason.is_null());
    if let Some(keep) = keep {
        query = query.filter(sessions::Column::Id.ne(keep));
    }
    Ok(query.exec(db).await?.rows_affected)
}

/// Gives a session a new token (after re-entering the password, after a password
/// change), so a token seen before that moment is worthless. Also records the password
/// entry for the sudo window.
pub async fn renew(
    db: &impl ConnectionTrait,
    session_id: i64,
    now: Timestamp,
) -> Result<SessionToken, DbErr> {
    let token = tokens::random_token();
    sessions::Entity::update_many()
        .col_expr(
            sessions::Column::TokenHash,
            Expr::value(tokens::digest(&token)),
        )
        .col_expr(sessions::Column::AuthenticatedAt, Expr::value(now))
        .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
        .filter(sessions::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(SessionToken(token))
}

/// Completes a sign-in that waited for its second factor: the session becomes a full one,
/// for the usual lifetime, under a new token. `None` if that sign-in is no longer waiting.
pub async fn complete_second_factor(
    db: &impl ConnectionTrait,
    settings: &Settings,
    session_id: i64,
    now: Timestamp,
) -> Result<Option<SessionToken>, DbErr> {
    let token = tokens::random_token();
    let completed = sessions::Entity::update_many()
        .col_expr(
            sessions::Column::TokenHash,
            Expr::value(tokens::digest(&token)),
        )
        .col_expr(sessions::Column::SecondFactorPending, Expr::value(false))
        .col_expr(
            sessions::Column::ExpiresAt,
            Expr::value(now.plus(settings.session_absolute_timeout)),
        )
        .col_expr(sessions::Column::AuthenticatedAt, Expr::value(now))
        .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
        .filter(sessions::Column::Id.eq(session_id))
        .filter(sessions::Column::SecondFactorPending.eq(true))
        .filter(sessions::Column::RevokedReason.is_null())
        .filter(sessions::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    // Ended meanwhile (a password change elsewhere, the five minutes ran out) or already
    // completed by a parallel request: the caller rolls back and the browser signs in again.
    Ok((completed.rows_affected == 1).then(|| SessionToken(token)))
}

/// Whether the password was entered in this session recently enough for a sensitive
/// action ("sudo mode"); otherwise the person is asked for it again.
pub fn require_recent_password(
    auth: &Authenticated,
    settings: &Settings,
    now: Timestamp,
) -> Result<(), crate::error::AppError> {
    if auth.session.authenticated_at.plus(settings.sudo_window) > now {
        Ok(())
    } else {
        Err(crate::error::AppError::PasswordConfirmationRequired)
    }
}

/// A person's live sessions, most recently active first.
pub async fn live_for(
    db: &impl ConnectionTrait,
    settings: &Settings,
    user_id: i64,
    now: Timestamp,
) -> Result<Vec<sessions::Model>, DbErr> {
    let idle_cutoff = now.minus(settings.session_idle_timeout);
    sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::RevokedReason.is_null())
        .filter(sessions::Column::SecondFactorPending.eq(false))
        .filter(sessions::Column::ExpiresAt.gt(now))
        .filter(sessions::Column::LastSeenAt.gt(idle_cutoff))
        .order_by_desc(sessions::Column::LastSeenAt)
        .order_by_desc(sessions::Column::Id)
        .all(db)
        .await
}

/// Deletes sessions past their absolute deadline, and live ones past their idle deadline.
/// Revoked sessions stay until their absolute deadline, so a device coming back is told
/// why it was signed out.
pub async fn delete_expired(
    db: &impl ConnectionTrait,
    settings: &Settings,
    now: Timestamp,
) -> Result<u64, DbErr> {
    let idle_cutoff = now.minus(settings.session_idle_timeout);
    let result = sessions::Entity::delete_many()
        .filter(
            sessions::Column::ExpiresAt
                .lte(now)
                .or(sessions::Column::LastSeenAt
                    .lte(idle_cutoff)
                    .and(sessions::Column::RevokedReason.is_null())),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// "Chrome on Linux", from a user agent, for the sessions list and the security log.
pub fn device_label(user_agent: Option<&str>) -> String {
    let parser = woothee::parser::Parser::new();
    let Some(parsed) = user_agent.and_then(|agent| parser.parse(agent)) else {
        return "Unknown device".into();
    };
    let browser = (parsed.name != "UNKNOWN").then_some(parsed.name);
    let os = (parsed.os != "UNKNOWN").then_some(parsed.os);
    match (browser, os) {
        (Some(browser), Some(os)) => format!("{browser} on {os}"),
        (Some(only), None) | (None, Some(only)) => only.to_owned(),
        (None, None) => "Unknown device".into(),
    }
}

/// The cookie's name. Over https it carries the `__Host-` prefix, which makes browsers
/// insist on `Secure`, `Path=/` and no `Domain`; browsers refuse such a cookie without
/// `Secure`, so plain http (local use) gets the bare name.
pub fn cookie_name(public_url: &PublicUrl) -> &'static str {
    if public_url.is_secure() {
        "__Host-importops_session"
    } else {
        "importops_session"
    }
}

/// The `Set-Cookie` value that stores a new session token.
pub fn cookie_for(settings: &Settings, token: &SessionToken) -> HeaderValue {
    let max_age = cookie::time::Duration::seconds(
        i64::try_from(settings.session_absolute_timeout.as_secs()).unwrap_or(i64::MAX),
    );
    let cookie = base_cookie(&settings.public_url, token.as_str().to_owned())
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that removes the session cookie from the browser.
pub fn clearing_cookie(public_url: &PublicUrl) -> HeaderValue {
    let cookie = base_cookie(public_url, String::new())
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn base_cookie(public_url: &PublicUrl, value: String) -> cookie::CookieBuilder<'static> {
    Cookie::build((cookie_name(public_url), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(public_url.is_secure())
}

/// The session token in a request's cookies, if there is one.
pub fn token_from(headers: &HeaderMap, public_url: &PublicUrl) -> Option<String> {
    let name = cookie_name(public_url);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name && !cookie.value().is_empty())
        .map(|cookie| cookie.value().to_owned())
}

fn truncate_user_agent(user_agent: &str) -> String {
    user_agent.chars().take(USER_AGENT_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_follow_the_public_url() {
        let https = Settings::new(PublicUrl::parse("https://account.example.com").unwrap());
        let token = SessionToken(Zeroizing::new("tok".into()));
        let set = cookie_for(&https, &token);
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-importops_session=tok"));
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Secure",
            "Max-Age=43200",
        ] {
            assert!(set.contains(attribute), "{set} lacks {attribute}");
        }
        assert!(!set.contains("Domain"));

        let http = Settings::new(PublicUrl::parse("http://127.0.0.1:3000").unwrap());
        let set = cookie_for(&http, &token);
        let set = set.to_str().unwrap();
        assert!(set.starts_with("importops_session=tok"));
        assert!(!set.contains("Secure"));
    }

    #[test]
    fn tokens_are_read_from_the_cookie_header() {
        let url = PublicUrl::parse("http://127.0.0.1:3000").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; importops_session=xyz; b=2"),
        );
        assert_eq!(token_from(&headers, &url).as_deref(), Some("xyz"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("importops_session="),
        );
        assert_eq!(token_from(&headers, &url), None);
    }

    #[test]
    fn debug_never_prints_the_token() {
        let token = SessionToken(Zeroizing::new("secret-token".into()));
        assert!(!format!("{token:?}").contains("secret"));
    }
}
