//! Logs never carry secrets: a sign-up, a failed and a successful sign-in and a sign-out are
//! logged at every level, and neither the password, its hash, the session token nor the
//! cookie appears; the email address does not appear above `debug`.

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use support::{Person, TestApp};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            // Everything the server does, at every level; the test's own HTTP client
            // (reqwest and its cookie jar) is not the product and logs cookies it holds.
            tracing_subscriber::fmt()
                .with_env_filter("trace,reqwest=off,cookie_store=off")
                .with_ansi(false)
                .with_writer(captured.clone())
                .init();
            captured
        })
        .clone()
}

db_tests!(
    sign_in_and_out_leave_no_secrets_in_the_logs,
    two_factor_leaves_no_secret_codes_or_uris_in_the_logs,
);

async fn sign_in_and_out_leave_no_secrets_in_the_logs(app: TestApp) {
    let logs = capture();
    let person = Person {
        password: "violet submarine at dawn".into(),
        ..Person::new()
    };
    let browser = app.signed_up(&person).await;
    let cookie = browser.cookie_header();
    let token = cookie
        .split_once('=')
        .map(|(_, token)| token.to_owned())
        .expect("a token");

    app.clock.advance(std::time::Duration::from_secs(60));
    let other = app.browser();
    other
        .sign_in(&person.email, "violet submarine at dusk")
        .await;
    app.clock.advance(std::time::Duration::from_secs(60));
    other.sign_in(&person.email, &person.password).await;
    browser.get("/settings/account").await;
    browser.sign_out().await;

    use app::backend::entities::users;
    use sea_orm::EntityTrait;
    let hash = users::Entity::find()
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap()
        .password_hash;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("security event"),
        "the capture works and saw this test's events"
    );
    for secret in ["violet submarine", &token, &hash, cookie.as_str()] {
        let leaks: Vec<&str> = text.lines().filter(|line| line.contains(secret)).collect();
        assert!(leaks.is_empty(), "a secret reached the logs: {leaks:#?}");
    }
    let loud_lines = text.lines().filter(|line| {
        line.contains(" INFO ") || line.contains(" WARN ") || line.contains(" ERROR ")
    });
    for line in loud_lines {
        assert!(
            !line.contains(&person.email),
            "an email address was logged above debug: {line}"
        );
    }
}

async fn two_factor_leaves_no_secret_codes_or_uris_in_the_logs(app: TestApp) {
    use app::backend::two_factor::{TotpSecret, codes::code_at};
    let logs = capture();
    let person = Person::new();
    let browser = app.signed_up(&person).await;

    let setup: serde_json::Value = browser
        .post_form("/api/start_two_factor", &[])
        .await
        .json()
        .await
        .unwrap();
    let uri = setup["otpauth_uri"].as_str().unwrap().to_owned();
    let key = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let secret = TotpSecret::from_base32(&key).unwrap();
    let enrolment_code = code_at(&secret, app.state.clock().now()).to_string();
    let recovery: Vec<String> = browser
        .post_form("/api/confirm_two_factor", &[("code", &enrolment_code)])
        .await
        .json()
        .await
        .unwrap();
    browser.sign_out().await;

    app.clock.advance(std::time::Duration::from_secs(30));
    let device = app.browser();
    device.sign_in(&person.email, &person.password).await;
    let sign_in_code = code_at(&secret, app.state.clock().now()).to_string();
    device
        .post_form("/api/verify_two_factor", &[("code", "999999")])
        .await;
    device
        .post_form("/api/verify_two_factor", &[("code", &sign_in_code)])
        .await;
    device.sign_out().await;
    let other = app.browser();
    other.sign_in(&person.email, &person.password).await;
    other
        .post_form(
            "/api/verify_recovery_code",
            &[("recovery_code", &recovery[0])],
        )
        .await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("two_factor_enabled"),
        "the capture saw this test's events"
    );
    let grouped = setup["key"].as_str().unwrap().to_owned();
    let mut secrets = vec![uri, key, grouped, enrolment_code, sign_in_code];
    secrets.extend(recovery);
    for secret in &secrets {
        let leaks: Vec<&str> = text.lines().filter(|line| shows(line, secret)).collect();
        assert!(
            leaks.is_empty(),
            "a two-factor secret ({secret:?}) reached the logs: {leaks:#?}"
        );
    }
}

/// Whether a log line shows `secret`. A six-digit code counts only standing on its own: the
/// microseconds of the time each line starts with, or a millisecond timestamp in a query,
/// hold any six digits now and then.
fn shows(line: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return line.contains(secret);
    }
    let body = line.split_once(' ').map_or(line, |(_time, rest)| rest);
    body.match_indices(secret).any(|(at, _)| {
        let before = body[..at].chars().next_back();
        let after = body[at + secret.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}
