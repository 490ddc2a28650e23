//! Creating accounts, signing in and out, throttling and session lifetimes, through HTTP on
//! the real server, on SQLite and PostgreSQL.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use support::{Person, TestApp, all_at_once, error_body, set_cookies};

db_tests!(
    sign_up_creates_an_owner_and_signs_them_in,
    sign_up_reports_every_bad_field_and_writes_nothing,
    sign_up_refuses_an_address_in_use_whatever_its_case,
    sign_in_gives_the_same_answer_for_unknown_email_and_wrong_password,
    sign_in_accepts_the_address_in_any_case_and_rotates_the_token,
    sign_in_follows_next_only_within_the_site,
    plain_form_posts_are_redirected,
    failed_sign_ins_are_throttled_per_address,
    parallel_failures_are_all_counted,
    repeated_failures_lock_the_address_for_a_day,
    sign_in_is_rate_limited_per_client,
    sessions_end_after_idle_and_absolute_timeouts,
    sign_out_kills_the_session,
    settings_pages_send_visitors_to_sign_in,
    team_lists_only_your_organisation,
);

async fn sign_up_creates_an_owner_and_signs_them_in(app: TestApp) {
    let person = Person::new();
    let browser = app.browser();

    let response = browser.sign_up(&person).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = set_cookies(&response);
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("importops_session="))
        .expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            session_cookie.contains(attribute),
            "{session_cookie} lacks {attribute}"
        );
    }
    assert_eq!(
        response.json::<String>().await.unwrap(),
        "/settings/account"
    );

    let me = browser.current_user().await;
    assert_eq!(me["first_name"], "Ana");
    assert_eq!(me["email"], person.email.as_str());
    assert_eq!(me["role"], "Owner");
    assert_eq!(me["organisation_name"], "Northwind Imports");

    let page = browser.get("/settings/account").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Ana Lopez"),
        "the account page shows the name"
    );

    assert_eq!(app.count("organisations").await, 1);
    assert_eq!(app.count("sessions").await, 1);
    assert_eq!(app.event_kinds().await, ["account_created", "signed_in"]);
}

async fn sign_up_reports_every_bad_field_and_writes_nothing(app: TestApp) {
    let browser = app.browser();
    let response = browser
        .post_form(
            "/api/sign_up",
            &[
                ("first_name", "  "),
                ("last_name", &"x".repeat(101)),
                ("email", "not-an-address"),
                ("password", "short"),
                ("organisation", "Acme"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(response).await;
    let fields: Vec<&str> = body["Invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["first_name", "last_name", "email", "password"]);

    // A common password is refused with its reason.
    let weak = Person {
        password: "Password1234!".into(),
        ..Person::new()
    };
    let response = browser.sign_up(&weak).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(response).await;
    assert!(
        body["Invalid"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too common")
    );

    // A missing field is a malformed request, not a crash.
    let response = browser
        .post_form("/api/sign_up", &[("first_name", "Ana")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("organisations").await, 0);
    assert_eq!(app.count("sessions").await, 0);
}

async fn sign_up_refuses_an_address_in_use_whatever_its_case(app: TestApp) {
    let first = Person::new().with_email("Ana@Example.com");
    app.signed_up(&first).await;

    let second = Person::new().with_email("ana@EXAMPLE.com");
    let response = app.browser().sign_up(&second).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = error_body(response).await;
    assert_eq!(body["Conflict"]["field"], "email");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("organisations").await, 1);
}

async fn sign_in_gives_the_same_answer_for_unknown_email_and_wrong_password(app: TestApp) {
    let person = Person::new();
    app.signed_up(&person).await;

    let wrong_password = app
        .browser()
        .sign_in(&person.email, "not the password at all")
        .await;
    let status_wrong = wrong_password.status();
    let body_wrong = error_body(wrong_password).await;

    let unknown = app
        .browser()
        .sign_in("nobody@example.com", "not the password at all")
        .await;
    let status_unknown = unknown.status();
    let body_unknown = error_body(unknown).await;

    assert_eq!(status_wrong, StatusCode::UNAUTHORIZED);
    assert_eq!(status_wrong, status_unknown);
    assert_eq!(body_wrong, json!("InvalidCredentials"));
    assert_eq!(body_wrong, body_unknown);

    // A password longer than any valid one is refused the same way, without hashing.
    let huge = "x".repeat(1 << 20);
    let response = app.browser().sign_in(&person.email, &huge).await;
    // (The 64 KiB body limit stops a megabyte before the server function runs.)
    assert!(response.status().is_client_error());
    let long = "x".repeat(600);
    app.clock.advance(Duration::from_secs(60));
    let response = app.browser().sign_in("someone@example.com", &long).await;
    assert_eq!(error_body(response).await, json!("InvalidCredentials"));

    // Failures against a real account are in its security log; unknown addresses are not.
    let kinds = app.event_kinds().await;
    assert_eq!(kinds.iter().filter(|k| *k == "sign_in_failed").count(), 1);
}

async fn sign_in_accepts_the_address_in_any_case_and_rotates_the_token(app: TestApp) {
    let person = Person::new();
    let first_browser = app.signed_up(&person).await;
    let first_token = session_token(&app).await;

    let browser = app.browser();
    let response = browser
        .sign_in(&person.email.to_uppercase(), &person.password)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<String>().await.unwrap(),
        "/settings/account"
    );
    assert_eq!(browser.current_user().await["email"], person.email.as_str());

    // Each sign-in gets its own token; the first browser's session is untouched.
    assert_eq!(app.count("sessions").await, 2);
    assert_ne!(session_token(&app).await, first_token);
    assert_eq!(
        first_browser.current_user().await["email"],
        person.email.as_str()
    );
}

async fn sign_in_follows_next_only_within_the_site(app: TestApp) {
    let person = Person::new();
    app.signed_up(&person).await;
    let cases = [
        ("/settings/team", "/settings/team"),
        ("//evil.example/phish", "/settings/account"),
        ("https://evil.example", "/settings/account"),
        ("/\\evil.example", "/settings/account"),
        ("", "/settings/account"),
    ];
    for (next, expected) in cases {
        let response = app
            .browser()
            .post_form(
                "/api/sign_in",
                &[
                    ("email", &person.email),
                    ("password", &person.password),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "next={next}");
        assert_eq!(
            response.json::<String>().await.unwrap(),
            expected,
            "next={next}"
        );
    }
}

async fn plain_form_posts_are_redirected(app: TestApp) {
    // Before the page's script loads, forms post natively and expect a page back.
    let person = Person::new();
    app.signed_up(&person).await;
    let browser = app.browser();
    let response = browser
        .http
        .post(app.url("/api/sign_in"))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[
            ("email", person.email.as_str()),
            ("password", person.password.as_str()),
            ("next", "/settings/team"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/settings/team");
    assert_eq!(browser.current_user().await["email"], person.email.as_str());

    // A failure goes back to the form, carrying the error for the page to show.
    app.clock.advance(Duration::from_secs(60));
    let response = app
        .browser()
        .http
        .post(app.url("/api/sign_in"))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[
            ("email", person.email.as_str()),
            ("password", "wrong wrong wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    // The framework encodes the error into the address; the page decodes and shows it.
    assert!(
        location.contains("/login?") && location.contains("__err="),
        "{location}"
    );
}

async fn failed_sign_ins_are_throttled_per_address(app: TestApp) {
    let person = Person::new();
    app.signed_up(&person).await;
    let browser = app.browser();

    assert_eq!(
        browser
            .sign_in(&person.email, "wrong password one")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // The next attempt within a second is refused without checking the password, even
    // with the right one, and says how long to wait.
    let refused = browser.sign_in(&person.email, &person.password).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(
        error_body(refused).await["TooManyRequests"]["retry_after_secs"],
        1
    );

    app.clock.advance(Duration::from_secs(1));
    assert_eq!(
        browser
            .sign_in(&person.email, "wrong password two")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refused = browser.sign_in(&person.email, &person.password).await;
    assert_eq!(refused.headers()["retry-after"], "3");

    // Another address is not affected, and unknown addresses are throttled the same way.
    assert_eq!(
        browser
            .sign_in("nobody@example.com", "whatever it is")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        browser
            .sign_in("nobody@example.com", "whatever it is")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // After the wait, the right password works and clears the count.
    app.clock.advance(Duration::from_secs(3));
    assert_eq!(
        browser
            .sign_in(&person.email, &person.password)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        browser
            .sign_in(&person.email, "wrong again here")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(
        browser
            .sign_in(&person.email, &person.password)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn parallel_failures_are_all_counted(app: TestApp) {
    let person = Person::new();
    app.signed_up(&person).await;
    // Twenty attempts race before any block is written; each failure must be counted.
    let attempts = (0..20).map(|_| {
        let browser = app.browser();
        let email = person.email.clone();
        tokio::spawn(async move { browser.sign_in(&email, "wrong in parallel").await.status() })
    });
    let statuses: Vec<StatusCode> = futures_collect(attempts).await.into_iter().collect();
    let failures = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(failures + throttled, 20);

    use app::backend::{entities::sign_in_throttles, throttle};
    use sea_orm::EntityTrait;
    let key = throttle::key_for(&person.email.to_lowercase());
    let row = sign_in_throttles::Entity::find_by_id(key.clone())
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.failures as usize, failures);

    // Once a failure is on record, a burst gets one guess per wait, however many arrive
    // together: the rest are told to wait. Every client is ready before any sends, and all
    // send at once.
    app.clock.advance(Duration::from_secs(24 * 60 * 60 + 1));
    let browsers: Vec<_> = (0..20).map(|_| app.browser()).collect();
    let statuses = all_at_once(browsers.len(), |n| {
        let browser = browsers[n].clone();
        let email = person.email.clone();
        async move { browser.sign_in(&email, "wrong in parallel").await.status() }
    })
    .await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 1, "{statuses:?}");
    let row = sign_in_throttles::Entity::find_by_id(key)
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.failures, 1, "a quiet day started the count again");
}

async fn repeated_failures_lock_the_address_for_a_day(app: TestApp) {
    let person = Person::new();
    app.signed_up(&person).await;
    let browser = app.browser();
    let lock_after = app.state.settings().sign_in_throttle.lock_after;
    for _ in 0..lock_after {
        app.clock.advance(Duration::from_secs(11));
        assert_eq!(
            browser
                .sign_in(&person.email, "still the wrong one")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    app.clock.advance(Duration::from_secs(11));
    let locked = browser.sign_in(&person.email, &person.password).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 23 * 3600 && wait <= 24 * 3600, "locked for {wait} s");
    assert!(
        app.event_kinds()
            .await
            .contains(&"sign_in_locked".to_owned())
    );

    app.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        browser
            .sign_in(&person.email, &person.password)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn sign_in_is_rate_limited_per_client(app: TestApp) {
    let limit = app.state.settings().sign_in_rate;
    let browser = app.browser();
    for n in 0..limit.max {
        // Different addresses, so only the per-client limit applies.
        let status = browser
            .sign_in(&format!("user{n}@example.com"), "some password here")
            .await
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let refused = browser
        .sign_in("one-more@example.com", "some password here")
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    app.clock.advance(limit.window);
    assert_eq!(
        browser
            .sign_in("later@example.com", "some password here")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn sessions_end_after_idle_and_absolute_timeouts(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let idle = app.state.settings().session_idle_timeout;
    let absolute = app.state.settings().session_absolute_timeout;

    // Activity within the idle timeout keeps the session alive…
    let step = idle - Duration::from_secs(60);
    let mut elapsed = Duration::ZERO;
    while elapsed + step < absolute {
        app.clock.advance(step);
        elapsed += step;
        assert!(
            !browser.current_user().await.is_null(),
            "alive after {elapsed:?}"
        );
    }
    // …but not past the absolute limit.
    app.clock.advance(absolute - elapsed);
    assert!(browser.current_user().await.is_null());
    assert_eq!(app.count("sessions").await, 0);

    // And an idle session ends on its own.
    let browser = app.browser();
    assert_eq!(
        browser
            .sign_in(&person.email, &person.password)
            .await
            .status(),
        StatusCode::OK
    );
    app.clock.advance(idle);
    let response = browser.get("/settings/account").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The dead cookie is removed from the browser.
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("importops_session=;"))
    );
}

async fn sign_out_kills_the_session(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let cookie = browser.cookie_header();
    assert!(cookie.starts_with("importops_session="));

    let response = browser.sign_out().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("importops_session=;"))
    );
    assert_eq!(response.json::<String>().await.unwrap(), "/login");
    assert_eq!(app.count("sessions").await, 0);
    assert!(
        app.event_kinds()
            .await
            .ends_with(&["signed_out".to_owned()])
    );

    // Replaying the old cookie gets nothing.
    let replay = app
        .raw_client()
        .post(app.url("/api/team_members"))
        .header("cookie", cookie)
        .header("origin", app.base.as_str())
        .form::<[(&str, &str); 0]>(&[])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(replay).await, json!("Unauthenticated"));
}

async fn settings_pages_send_visitors_to_sign_in(app: TestApp) {
    let visitor = app.browser();
    for (path, next) in [
        ("/settings/account", "/settings/account"),
        ("/settings/team", "/settings/team"),
        ("/settings/team?tab=1", "/settings/team%3Ftab%3D1"),
    ] {
        let response = visitor.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            response.headers()["location"],
            format!("/login?next={next}").as_str()
        );
    }
    assert_eq!(visitor.get("/").await.headers()["location"], "/login");
    assert_eq!(visitor.get("/login").await.status(), StatusCode::OK);

    let person = Person::new();
    let member = app.signed_up(&person).await;
    assert_eq!(
        member.get("/").await.headers()["location"],
        "/settings/account"
    );
    assert_eq!(
        member.get("/login").await.headers()["location"],
        "/settings/account"
    );
    assert_eq!(member.get("/settings/team").await.status(), StatusCode::OK);
}

async fn team_lists_only_your_organisation(app: TestApp) {
    let ana = app.signed_up(&Person::new()).await;
    let other = Person {
        first_name: "Bo".into(),
        organisation: "Other Org".into(),
        ..Person::new()
    };
    app.signed_up(&other).await;

    let response = ana.post_form("/api/team_members", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let members: serde_json::Value = response.json().await.unwrap();
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["first_name"], "Ana");
    assert_eq!(members[0]["is_you"], true);
    assert!(members[0].get("password_hash").is_none());

    let page = ana.get("/settings/team").await.text().await.unwrap();
    assert!(page.contains("Ana Lopez") && !page.contains("Bo Lopez"));
}

/// The newest session's token hash.
async fn session_token(app: &TestApp) -> String {
    use app::backend::entities::sessions;
    use sea_orm::{EntityTrait, QueryOrder};
    sessions::Entity::find()
        .order_by_desc(sessions::Column::Id)
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap()
        .token_hash
}

async fn futures_collect<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}
