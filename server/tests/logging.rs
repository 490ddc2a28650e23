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

db_tests!(sign_in_and_out_leave_no_secrets_in_the_logs);

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
