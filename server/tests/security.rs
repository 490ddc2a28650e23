//! Changing the password, sessions on other devices, sudo mode and the security activity
//! log, through HTTP on the real server, on SQLite and PostgreSQL.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Browser, Person, TestApp, error_body};

db_tests!(
    password_policy_edges_are_enforced_on_change,
    a_change_keeps_this_device_and_ends_every_other_session,
    the_current_password_is_checked_and_throttled,
    sensitive_actions_need_a_recent_password,
    sessions_are_listed_and_can_be_signed_out,
    security_activity_is_paginated_and_private,
    strength_feedback_explains_the_policy,
    security_activity_outlives_ninety_days,
);

const NEW: &str = "violet submarine at dawn";

async fn change(browser: &Browser, current: &str, new: &str, confirm: &str) -> reqwest::Response {
    browser
        .post_form(
            "/api/change_password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
            ],
        )
        .await
}

async fn password_policy_edges_are_enforced_on_change(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let mut current = person.password.clone();

    let refused = [
        ("x".repeat(11), "Use at least 12 characters."),
        ("y".repeat(129), "Use at most 128 characters."),
        ("z".repeat(600), "Use at most 128 characters."),
        ("Password1234!".to_owned(), "too common"),
        ("AnaLopez2026!".to_owned(), "Don't build your password"),
        ("q".repeat(12), "Don't repeat a single character"),
        (
            "hidden\u{200b}marks\u{200b}here".to_owned(),
            "invisible formatting marks",
        ),
    ];
    for (password, says) in refused {
        let response = change(&browser, &current, &password, &password).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}"
        );
        let body = error_body(response).await;
        assert_eq!(body["Invalid"][0]["field"], "new_password");
        assert!(
            body["Invalid"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{body}"
        );
    }

    // A megabyte is refused before anything is read into the password machinery.
    // (The server may answer 413 and close the connection before the client has finished
    // sending, which the client reports as an error; either way nothing was accepted.)
    let started = Instant::now();
    let huge = "m".repeat(1 << 20);
    let form = [
        ("current_password", current.as_str()),
        ("new_password", &huge),
        ("confirm_password", &huge),
    ];
    // A separate connection: the server may close this one.
    let request = app
        .raw_client()
        .post(app.url("/api/change_password"))
        .header("cookie", browser.cookie_header())
        .header("origin", app.base.as_str())
        .form(&form);
    match request.send().await {
        Ok(response) => assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(error) => assert!(error.is_request(), "{error}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));

    for password in [
        "quiet lakes!".to_owned(),
        "w7".repeat(32),
        "e8".repeat(64),
        "🦀🔑🌊🎈🚲🍋🧭🪁🎻🌵🍩🛶".to_owned(),
    ] {
        app.clock.advance(Duration::from_secs(1));
        let response = change(&browser, &current, &password, &password).await;
        assert_eq!(response.status(), StatusCode::OK, "{password}");
        current = password;
    }

    // The two new fields must match, and the new password must be new.
    let response = change(&browser, &current, NEW, "violet submarine at dusk").await;
    let body = error_body(response).await;
    assert_eq!(body["Invalid"][0]["field"], "confirm_password");
    let response = change(&browser, &current, &current, &current).await;
    let body = error_body(response).await;
    assert_eq!(
        body["Invalid"][0]["message"],
        "Choose a password different from your current one."
    );
}

async fn a_change_keeps_this_device_and_ends_every_other_session(app: TestApp) {
    let person = Person::new();
    let here = app.signed_up(&person).await;
    let phone = app.browser();
    phone.sign_in(&person.email, &person.password).await;
    let laptop = app.browser();
    laptop.sign_in(&person.email, &person.password).await;
    here.post_form(
        "/api/request_email_change",
        &[
            ("current_password", &person.password),
            ("new_email", "next@example.com"),
        ],
    )
    .await;
    assert_eq!(app.count("email_changes").await, 1);
    let old_cookie = here.cookie_header();

    let response = change(&here, &person.password, NEW, NEW).await;
    assert_eq!(response.status(), StatusCode::OK);

    // This device is still signed in, with a new token; the old token is worthless.
    assert_eq!(here.current_user().await["email"], person.email.as_str());
    assert_ne!(here.cookie_header(), old_cookie);
    let replay = app
        .raw_client()
        .post(app.url("/api/list_sessions"))
        .header("cookie", old_cookie)
        .header("origin", app.base.as_str())
        .form::<[(&str, &str); 0]>(&[])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);

    // Other devices are out, and told why on their next request.
    let api = phone.post_form("/api/list_sessions", &[]).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        error_body(api).await,
        json!({"SessionEnded": {"reason": "PasswordChanged"}})
    );
    let page = laptop.get("/settings/account").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers()["location"],
        "/login?next=/settings/account&ended=password_changed"
    );
    let login = laptop
        .get("/login?next=/settings/account&ended=password_changed")
        .await;
    assert!(
        login
            .text()
            .await
            .unwrap()
            .contains("Your password was changed. Sign in again.")
    );

    // Pending email changes died with the old password; the new password signs in.
    assert_eq!(app.count("email_changes").await, 0);
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(
        app.browser()
            .sign_in(&person.email, &person.password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(Duration::from_secs(2));
    assert_eq!(
        app.browser().sign_in(&person.email, NEW).await.status(),
        StatusCode::OK
    );

    // The account address is told.
    app.deliver_mail().await;
    let told = app
        .smtp
        .messages()
        .into_iter()
        .any(|m| m.header("Subject").as_deref() == Some("Your ImportOps password was changed"));
    assert!(told);
    assert!(
        app.event_kinds()
            .await
            .contains(&"password_changed".to_owned())
    );
}

async fn the_current_password_is_checked_and_throttled(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let response = change(&browser, "not the password", NEW, NEW).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_body(response).await, json!("IncorrectPassword"));
    let response = change(&browser, &person.password, NEW, NEW).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(
        change(&browser, &person.password, NEW, NEW).await.status(),
        StatusCode::OK
    );
}

async fn sensitive_actions_need_a_recent_password(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let other = app.browser();
    other.sign_in(&person.email, &person.password).await;
    let window = app.state.settings().sudo_window;

    // Within ten minutes of signing in, no prompt.
    app.clock.advance(window - Duration::from_secs(60));
    let sessions: Value = browser
        .post_form("/api/list_sessions", &[])
        .await
        .json()
        .await
        .unwrap();
    let other_id = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["this_device"] == false)
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // Past it, the server asks for the password again.
    app.clock.advance(Duration::from_secs(120));
    other.current_user().await; // keep the other session from going idle
    let response = browser
        .post_form(
            "/api/revoke_session",
            &[("session_id", &other_id.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        error_body(response).await,
        json!("PasswordConfirmationRequired")
    );

    let wrong = browser
        .post_form("/api/confirm_password", &[("password", "not it at all")])
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    app.clock.advance(Duration::from_secs(1));
    let before = browser.cookie_header();
    let right = browser
        .post_form("/api/confirm_password", &[("password", &person.password)])
        .await;
    assert_eq!(right.status(), StatusCode::OK);
    assert_ne!(
        browser.cookie_header(),
        before,
        "re-authentication gives a new token"
    );

    let response = browser
        .post_form(
            "/api/revoke_session",
            &[("session_id", &other_id.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        error_body(other.post_form("/api/list_sessions", &[]).await).await,
        json!({"SessionEnded": {"reason": "SignedOutElsewhere"}})
    );

    app.clock.advance(window + Duration::from_secs(1));
    let response = browser.post_form("/api/revoke_other_sessions", &[]).await;
    assert_eq!(
        error_body(response).await,
        json!("PasswordConfirmationRequired")
    );
}

async fn sessions_are_listed_and_can_be_signed_out(app: TestApp) {
    let person = Person::new();
    let here = app.signed_up(&person).await;
    let firefox =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";
    let phone = app
        .raw_client()
        .post(app.url("/api/sign_in"))
        .header("origin", app.base.as_str())
        .header("user-agent", firefox)
        .form(&[
            ("email", person.email.as_str()),
            ("password", person.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let phone_cookie = support::set_cookies(&phone)[0]
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let sessions: Value = here
        .post_form("/api/list_sessions", &[])
        .await
        .json()
        .await
        .unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["this_device"], true, "this device comes first");
    let phone_row = &sessions[1];
    assert_eq!(phone_row["device"], "Firefox on Windows 10");
    assert_eq!(phone_row["ip"], "127.0.0.1");
    assert!(
        phone_row["signed_in_at"].as_i64().is_some()
            && phone_row["last_active_at"].as_i64().is_some()
    );

    // Your own session is signed out from the menu, not the list; others' ids are not found.
    let own = sessions[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        here.post_form("/api/revoke_session", &[("session_id", &own)])
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let stranger = app.signed_up(&Person::new()).await;
    let stranger_sessions: Value = stranger
        .post_form("/api/list_sessions", &[])
        .await
        .json()
        .await
        .unwrap();
    let stranger_id = stranger_sessions[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        here.post_form("/api/revoke_session", &[("session_id", &stranger_id)])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert!(!stranger.current_user().await.is_null());

    let response = here.post_form("/api/revoke_other_sessions", &[]).await;
    assert_eq!(response.json::<u64>().await.unwrap(), 1);
    let dead = app
        .raw_client()
        .get(app.url("/settings/account"))
        .header("cookie", phone_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        dead.headers()["location"],
        "/login?next=/settings/account&ended=signed_out"
    );
    let sessions: Value = here
        .post_form("/api/list_sessions", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1);
}

async fn security_activity_is_paginated_and_private(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    for n in 0..24 {
        app.clock.advance(Duration::from_secs(60));
        browser
            .post_form(
                "/api/update_profile",
                &[("first_name", &format!("Ana{n}")), ("last_name", "Lopez")],
            )
            .await;
    }
    let other = app.signed_up(&Person::new()).await;
    other
        .post_form(
            "/api/update_profile",
            &[("first_name", "Bo"), ("last_name", "X")],
        )
        .await;

    let first: Value = browser
        .post_form("/api/security_activity", &[])
        .await
        .json()
        .await
        .unwrap();
    let entries = first["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 20);
    assert_eq!(entries[0]["event"], "Name changed");
    assert!(
        entries[0]["at"].as_i64() > entries[19]["at"].as_i64(),
        "newest first"
    );
    let next = first["next"].as_i64().unwrap().to_string();
    let second: Value = browser
        .post_form("/api/security_activity", &[("before", &next)])
        .await
        .json()
        .await
        .unwrap();
    let older = second["entries"].as_array().unwrap();
    assert_eq!(older.len(), 6, "24 renames + account created + signed in");
    assert_eq!(second["next"], Value::Null);
    assert_eq!(older.last().unwrap()["event"], "Account created");
    let total = entries.len() + older.len();
    assert_eq!(total, 26, "only this person's events");
}

async fn strength_feedback_explains_the_policy(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let weak: Value = browser
        .post_form("/api/password_strength", &[("password", "ana.lopez2026")])
        .await
        .json()
        .await
        .unwrap();
    assert!(weak["score"].as_u64().unwrap() <= 1);
    assert!(weak["problem"].as_str().is_some());
    let strong: Value = browser
        .post_form(
            "/api/password_strength",
            &[("password", "copper kettle on the misty hill")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(strong["score"].as_u64().unwrap() >= 3, "{strong}");
    assert_eq!(strong["problem"], Value::Null);
}

async fn security_activity_outlives_ninety_days(app: TestApp) {
    let person = Person::new();
    app.signed_up(&person).await;
    let created = "security_events WHERE kind = 'account_created'";
    let day = Duration::from_secs(24 * 60 * 60);

    // The clean-up that runs every few minutes leaves a season's activity alone...
    app.clock.advance(day * 100);
    app::backend::maintenance::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(app.count(created).await, 1);

    // ...and forgets it after the retention period, which is well over 90 days.
    app.clock
        .advance(app::backend::security_events::RETENTION - day * 99);
    app::backend::maintenance::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(app.count(created).await, 0);
}
