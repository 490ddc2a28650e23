//! Changing the sign-in address: the confirmation link, the notice to the old address and
//! its undo link, through HTTP on the real server and a real SMTP server, on SQLite and
//! PostgreSQL.

mod support;

use app::backend::maintenance;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Browser, Person, TestApp, all_at_once, error_body, smtp::Received};

db_tests!(
    a_confirmed_change_moves_sign_in_to_the_new_address,
    opening_the_link_changes_nothing,
    expired_reused_superseded_and_foreign_links_are_refused,
    a_taken_address_gets_the_same_answer_and_a_notice,
    the_old_address_can_undo_the_change_for_a_week,
    the_password_is_checked_and_throttled,
    bad_addresses_are_explained,
    pending_changes_can_be_resent_and_cancelled,
    expired_links_still_say_so_after_maintenance,
    a_link_clicked_many_times_at_once_confirms_once,
    dead_undo_links_point_to_signing_in_or_an_admin,
    a_confirmed_address_ends_other_peoples_pending_changes_to_it,
    racing_requests_resends_and_cancels_all_get_an_answer,
);

async fn a_confirmed_change_moves_sign_in_to_the_new_address(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;

    let response = request(&browser, &person.password, "Ana.New@Example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<String>().await.unwrap(),
        "Ana.New@Example.com"
    );
    assert_eq!(
        browser.current_user().await["pending_email"],
        "Ana.New@Example.com"
    );
    // Until the link is used, the old address is still the one that signs in.
    assert_eq!(browser.current_user().await["email"], person.email.as_str());

    app.deliver_mail().await;
    let mail = only_mail_to(&app, "Ana.New@Example.com");
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Confirm your new ImportOps email address"
    );
    let text = mail.part("text/plain").unwrap();
    assert!(text.contains("Ana Lopez asked to sign in to ImportOps with this address"));
    let html = mail.part("text/html").unwrap();
    assert!(html.contains("Confirm email change"));
    let token = token_in(&app, &mail, "/account/email/confirm");

    let response = confirm(&app, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<String>().await.unwrap(),
        "Ana.New@Example.com"
    );

    // The old address no longer signs in; the new one does, in any case.
    app.clock.advance(Duration::from_secs(60));
    let old = app.browser().sign_in(&person.email, &person.password).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app
        .browser()
        .sign_in("ana.new@example.com", &person.password)
        .await;
    assert_eq!(new.status(), StatusCode::OK);
    let me = browser.current_user().await;
    assert_eq!(me["email"], "Ana.New@Example.com");
    assert_eq!(me["pending_email"], Value::Null);

    // The old address is told, with the new one partly hidden and an undo link.
    app.deliver_mail().await;
    let notice = only_mail_to(&app, &person.email);
    assert_eq!(
        notice.header("Subject").unwrap(),
        "Your ImportOps email address was changed"
    );
    let text = notice.part("text/plain").unwrap();
    assert!(text.contains("A***w@Example.com"), "{text}");
    assert!(!text.contains("Ana.New@Example.com"));
    assert!(text.contains("/account/email/revert?token="));
    let kinds = app.event_kinds().await;
    assert!(kinds.contains(&"email_change_requested".to_owned()));
    assert!(kinds.contains(&"email_changed".to_owned()));
}

async fn opening_the_link_changes_nothing(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    request(&browser, &person.password, "second@example.com").await;
    app.deliver_mail().await;
    let token = token_in(
        &app,
        &only_mail_to(&app, "second@example.com"),
        "/account/email/confirm",
    );

    // A scanner following the link with GET (signed out) sees the page and nothing happens.
    let page = app
        .raw_client()
        .get(app.url(&format!("/account/email/confirm?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(html.contains("Confirm email change") && html.contains("second@example.com"));
    let inspect = app
        .browser()
        .post_form("/api/inspect_email_change", &[("token", &token)])
        .await;
    assert_eq!(
        inspect.json::<Value>().await.unwrap(),
        json!({"Ready": {"email": "second@example.com"}})
    );
    assert_eq!(browser.current_user().await["email"], person.email.as_str());
}

async fn expired_reused_superseded_and_foreign_links_are_refused(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;

    // Superseded: a newer request replaces the first link.
    request(&browser, &person.password, "first@example.com").await;
    app.clock.advance(Duration::from_secs(2));
    request(&browser, &person.password, "second@example.com").await;
    app.deliver_mail().await;
    let first = token_in(
        &app,
        &only_mail_to(&app, "first@example.com"),
        "/account/email/confirm",
    );
    let second = token_in(
        &app,
        &only_mail_to(&app, "second@example.com"),
        "/account/email/confirm",
    );
    assert_refused(confirm(&app, &first).await, "no longer valid").await;
    assert_eq!(inspect(&app, &first).await, json!("Unknown"));

    // Foreign: a token nobody issued.
    assert_refused(
        confirm(&app, "bm90LWEtcmVhbC10b2tlbi1hdC1hbGwtbm90LWV2ZW4tY2xvc2U").await,
        "no longer valid",
    )
    .await;

    // Expired: after 24 hours.
    app.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(inspect(&app, &second).await, json!("Expired"));
    assert_refused(confirm(&app, &second).await, "expired").await;
    // (The session itself has ended by now; the address is unchanged.)
    let browser = app.browser();
    assert_eq!(
        browser
            .sign_in(&person.email, &person.password)
            .await
            .status(),
        StatusCode::OK
    );

    // Reused: a link works once.
    request(&browser, &person.password, "third@example.com").await;
    app.deliver_mail().await;
    let third = token_in(
        &app,
        &only_mail_to(&app, "third@example.com"),
        "/account/email/confirm",
    );
    assert_eq!(confirm(&app, &third).await.status(), StatusCode::OK);
    assert_refused(confirm(&app, &third).await, "no longer valid").await;
}

async fn a_taken_address_gets_the_same_answer_and_a_notice(app: TestApp) {
    let taken = Person::new().with_email("taken@example.com");
    app.signed_up(&taken).await;
    let person = Person::new();
    let browser = app.signed_up(&person).await;

    let to_taken = request(&browser, &person.password, "Taken@Example.com").await;
    let status_taken = to_taken.status();
    let body_taken = to_taken.json::<Value>().await.unwrap();
    let to_free = request(&browser, &person.password, "free@example.com").await;
    assert_eq!(status_taken, to_free.status());
    assert_eq!(body_taken, json!("Taken@Example.com"));

    // The pending display is the same too, and the taken address gets a notice, no link.
    request(&browser, &person.password, "Taken@Example.com").await;
    assert_eq!(
        browser.current_user().await["pending_email"],
        "Taken@Example.com"
    );
    app.deliver_mail().await;
    let notices = mails_to(&app, "Taken@Example.com");
    assert_eq!(notices.len(), 2);
    for notice in notices {
        let text = notice.part("text/plain").unwrap();
        assert!(text.contains("another account already uses it"), "{text}");
        assert!(!text.contains("token="));
    }
}

async fn the_old_address_can_undo_the_change_for_a_week(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let other_device = app.browser();
    other_device.sign_in(&person.email, &person.password).await;

    request(&browser, &person.password, "attacker@example.com").await;
    app.deliver_mail().await;
    let token = token_in(
        &app,
        &only_mail_to(&app, "attacker@example.com"),
        "/account/email/confirm",
    );
    confirm(&app, &token).await;
    app.deliver_mail().await;
    let undo = token_in(
        &app,
        &only_mail_to(&app, &person.email),
        "/account/email/revert",
    );

    let page = app
        .raw_client()
        .get(app.url(&format!("/account/email/revert?token={undo}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.text().await.unwrap().contains(&person.email));
    assert_eq!(
        browser.current_user().await["email"],
        "attacker@example.com",
        "GET changed nothing"
    );

    app.clock.advance(Duration::from_secs(6 * 24 * 3600));
    let response = app
        .browser()
        .post_form("/api/revert_email_change", &[("token", &undo)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<String>().await.unwrap(),
        person.email.as_str()
    );

    // Every session is gone; the old address signs in again.
    assert_eq!(browser.current_user().await, Value::Null);
    assert_eq!(other_device.current_user().await, Value::Null);
    // Kept only as ended, so each device can be told why on its next request.
    assert_eq!(app.count("sessions WHERE revoked_reason IS NULL").await, 0);
    assert_eq!(app.count("sessions").await, 2);
    assert_eq!(
        app.browser()
            .sign_in(&person.email, &person.password)
            .await
            .status(),
        StatusCode::OK
    );
    assert!(
        app.event_kinds()
            .await
            .contains(&"email_change_reverted".to_owned())
    );
    let restored = app
        .browser()
        .post_form("/api/revert_email_change", &[("token", &undo)])
        .await;
    assert_eq!(
        restored.status(),
        StatusCode::CONFLICT,
        "an undo link works once"
    );

    // After a week the link is dead.
    let later = Person::new();
    let browser = app.signed_up(&later).await;
    request(&browser, &later.password, "later-new@example.com").await;
    app.deliver_mail().await;
    let token = token_in(
        &app,
        &only_mail_to(&app, "later-new@example.com"),
        "/account/email/confirm",
    );
    confirm(&app, &token).await;
    app.deliver_mail().await;
    let undo = token_in(
        &app,
        &only_mail_to(&app, &later.email),
        "/account/email/revert",
    );
    app.clock.advance(Duration::from_secs(7 * 24 * 3600));
    assert_refused(
        app.browser()
            .post_form("/api/revert_email_change", &[("token", &undo)])
            .await,
        "expired",
    )
    .await;
}

async fn the_password_is_checked_and_throttled(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let response = request(&browser, "not my password", "new@example.com").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = error_body(response).await;
    assert_eq!(body, json!("IncorrectPassword"));
    // The next try within the throttle's wait is refused, even with the right password.
    let response = request(&browser, &person.password, "new@example.com").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(
        request(&browser, &person.password, "new@example.com")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.count("email_changes").await, 1);
    assert!(
        app.event_kinds()
            .await
            .contains(&"password_check_failed".to_owned())
    );
}

async fn bad_addresses_are_explained(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let upper = person.email.to_uppercase();
    let long = format!("{}@example.com", "a".repeat(250));
    for (address, message) in [
        (
            "not-an-address",
            "Enter an email address in the form name@example.com.",
        ),
        (
            "ana@example.com\r\nBcc: x@example.com",
            "Enter an email address in the form name@example.com.",
        ),
        (
            long.as_str(),
            "Email addresses can be at most 254 characters.",
        ),
        (upper.as_str(), "That is already your email address."),
    ] {
        let response = request(&browser, &person.password, address).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address}"
        );
        let body = error_body(response).await;
        assert_eq!(body["Invalid"][0]["field"], "new_email");
        assert_eq!(body["Invalid"][0]["message"], message);
    }
    assert_eq!(app.count("email_changes").await, 0);
    assert_eq!(app.count("outbox").await, 0);
}

async fn pending_changes_can_be_resent_and_cancelled(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    request(&browser, &person.password, "pending@example.com").await;
    app.deliver_mail().await;
    let first = token_in(
        &app,
        &only_mail_to(&app, "pending@example.com"),
        "/account/email/confirm",
    );

    assert_eq!(
        browser
            .post_form("/api/resend_email_change", &[])
            .await
            .status(),
        StatusCode::OK
    );
    app.deliver_mail().await;
    let mails = mails_to(&app, "pending@example.com");
    assert_eq!(mails.len(), 2);
    let second = token_in(&app, &mails[1], "/account/email/confirm");
    assert_ne!(first, second);
    assert_eq!(inspect(&app, &first).await, json!("Unknown"));

    // Resending is limited.
    let limit = app.state.settings().email_change_mail_rate.max;
    let mut last = StatusCode::OK;
    for _ in 0..limit {
        last = browser
            .post_form("/api/resend_email_change", &[])
            .await
            .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);

    assert_eq!(
        browser
            .post_form("/api/cancel_email_change", &[])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(browser.current_user().await["pending_email"], Value::Null);
    assert_eq!(inspect(&app, &second).await, json!("Unknown"));
    assert_eq!(
        browser
            .post_form("/api/resend_email_change", &[])
            .await
            .status(),
        StatusCode::CONFLICT
    );
}

async fn expired_links_still_say_so_after_maintenance(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let undo = change_and_get_undo_link(&app, &browser, &person, "moved@example.com").await;
    request(&browser, &person.password, "pending@example.com").await;
    app.deliver_mail().await;
    let pending = token_in(
        &app,
        &only_mail_to(&app, "pending@example.com"),
        "/account/email/confirm",
    );

    // Both links are past their expiry when the periodic clean-up runs.
    app.clock.advance(Duration::from_secs(7 * 24 * 3600 + 60));
    maintenance::run_once(&app.state)
        .await
        .expect("maintenance");
    assert_eq!(inspect(&app, &pending).await, json!("Expired"));
    assert_refused(confirm(&app, &pending).await, "expired").await;
    assert_eq!(inspect_revert(&app, &undo).await, json!("Expired"));
    assert_refused(revert(&app, &undo).await, "expired").await;
    // What is kept is the token digests, not the addresses.
    assert_eq!(app.count("email_changes").await, 1);
    assert_eq!(app.count("email_reverts").await, 1);
    assert_eq!(app.count("email_changes WHERE new_email <> ''").await, 0);
    assert_eq!(
        app.count("email_reverts WHERE old_email <> '' OR new_email <> ''")
            .await,
        0
    );

    // A week after expiry the rows go too.
    app.clock.advance(Duration::from_secs(7 * 24 * 3600));
    maintenance::run_once(&app.state)
        .await
        .expect("maintenance");
    assert_eq!(app.count("email_changes").await, 0);
    assert_eq!(app.count("email_reverts").await, 0);
    assert_eq!(inspect(&app, &pending).await, json!("Unknown"));
}

async fn a_link_clicked_many_times_at_once_confirms_once(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    request(&browser, &person.password, "once@example.com").await;
    app.deliver_mail().await;
    let token = token_in(
        &app,
        &only_mail_to(&app, "once@example.com"),
        "/account/email/confirm",
    );

    // Ten browsers, each already connected, so the requests arrive together.
    let mut clients = Vec::new();
    for _ in 0..10 {
        let client = app.browser();
        client.get("/healthz").await;
        clients.push(client);
    }
    let statuses = all_at_once(clients.len(), |n| {
        let client = clients[n].clone();
        let token = token.clone();
        async move {
            client
                .post_form("/api/confirm_email_change", &[("token", &token)])
                .await
                .status()
        }
    })
    .await;
    let confirmed = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(confirmed, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );

    let events = app.event_kinds().await;
    assert_eq!(events.iter().filter(|k| *k == "email_changed").count(), 1);
    assert_eq!(app.count("email_reverts").await, 1);
    app.deliver_mail().await;
    let notice = only_mail_to(&app, &person.email);

    // The undo link too.
    let undo = token_in(&app, &notice, "/account/email/revert");
    let statuses = all_at_once(clients.len(), |n| {
        let client = clients[n].clone();
        let undo = undo.clone();
        async move {
            client
                .post_form("/api/revert_email_change", &[("token", &undo)])
                .await
                .status()
        }
    })
    .await;
    let reverted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(reverted, 1, "{statuses:?}");
    let events = app.event_kinds().await;
    assert_eq!(
        events
            .iter()
            .filter(|k| *k == "email_change_reverted")
            .count(),
        1
    );
    app.deliver_mail().await;
    assert_eq!(mails_to(&app, &person.email).len(), 2, "one more notice");
}

async fn dead_undo_links_point_to_signing_in_or_an_admin(app: TestApp) {
    let first = Person::new();
    let browser = app.signed_up(&first).await;
    let used = change_and_get_undo_link(&app, &browser, &first, "used@example.com").await;
    assert_eq!(revert(&app, &used).await.status(), StatusCode::OK);
    let second = Person::new();
    let browser = app.signed_up(&second).await;
    let expired = change_and_get_undo_link(&app, &browser, &second, "expired@example.com").await;
    app.clock.advance(Duration::from_secs(7 * 24 * 3600 + 60));

    for (token, says) in [
        (used.as_str(), "already used"),
        (
            "bm90LWEtcmVhbC10b2tlbi1hdC1hbGwtbm90LWV2ZW4tY2xvc2U",
            "already used",
        ),
        (expired.as_str(), "expired"),
    ] {
        let answer = revert(&app, token).await;
        assert_eq!(answer.status(), StatusCode::CONFLICT);
        let message = error_body(answer).await["Conflict"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let page = app
            .raw_client()
            .get(app.url(&format!("/account/email/revert?token={token}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for shown in [&message, &page] {
            // Whoever holds the link may be locked out: no pointing at the account's settings
            // or at asking for a new link, but at signing in, or at an admin.
            assert!(shown.contains(says), "{shown}");
            assert!(shown.contains("sign in with the address"), "{shown}");
            assert!(
                shown.contains("ask an admin of your organisation"),
                "{shown}"
            );
            assert!(!shown.contains("request a new one"), "{shown}");
        }
        assert!(page.contains(r#"href="/login""#), "{page}");
        assert!(!page.contains("Go to Settings"), "{page}");
    }
}

async fn a_confirmed_address_ends_other_peoples_pending_changes_to_it(app: TestApp) {
    let winner = Person::new();
    let winner_browser = app.signed_up(&winner).await;
    let other = Person::new();
    let other_browser = app.signed_up(&other).await;
    request(&winner_browser, &winner.password, "shared@example.com").await;
    app.deliver_mail().await;
    let winning = token_in(
        &app,
        &only_mail_to(&app, "shared@example.com"),
        "/account/email/confirm",
    );
    request(&other_browser, &other.password, "Shared@Example.com").await;
    app.deliver_mail().await;
    let losing = token_in(
        &app,
        &mails_to(&app, "shared@example.com")[1],
        "/account/email/confirm",
    );

    assert_eq!(confirm(&app, &winning).await.status(), StatusCode::OK);
    assert_eq!(
        other_browser.current_user().await["pending_email"],
        Value::Null
    );
    assert_eq!(inspect(&app, &losing).await, json!("Unknown"));
    assert_refused(confirm(&app, &losing).await, "no longer valid").await;
    assert_eq!(app.count("email_changes").await, 0);
}

async fn racing_requests_resends_and_cancels_all_get_an_answer(app: TestApp) {
    let flavor = app.flavor();
    drop(app);
    let app = TestApp::start_with(flavor, |settings| {
        settings.email_change_mail_rate.max = 1000;
        // All password checks at once, so the requests reach the database together.
        settings.password_hashing_permits = 10;
    })
    .await
    .expect("database");
    let person = Person::new();
    let browser = app.signed_up(&person).await;

    let addresses: Vec<String> = (0..10).map(|n| format!("race{n}@example.com")).collect();
    let statuses = all_at_once(addresses.len(), |n| {
        let browser = browser.clone();
        let password = person.password.clone();
        let address = addresses[n].clone();
        async move { request(&browser, &password, &address).await.status() }
    })
    .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    // The last one in replaced the others.
    assert_eq!(app.count("email_changes").await, 1);
    let pending = browser.current_user().await["pending_email"].clone();
    assert!(addresses.iter().any(|a| pending == a.as_str()), "{pending}");

    // A resend and a cancel crossing each other: either order is a fine answer.
    for _ in 0..5 {
        request(&browser, &person.password, "again@example.com").await;
        let statuses = all_at_once(2, |n| {
            let browser = browser.clone();
            let path = if n == 0 {
                "/api/resend_email_change"
            } else {
                "/api/cancel_email_change"
            };
            async move { browser.post_form(path, &[]).await.status() }
        })
        .await;
        assert_eq!(statuses[1], StatusCode::OK, "cancel: {statuses:?}");
        assert!(
            statuses[0] == StatusCode::OK || statuses[0] == StatusCode::CONFLICT,
            "resend: {statuses:?}"
        );
        assert_eq!(browser.current_user().await["pending_email"], Value::Null);
    }
}

/// Changes the person's address to `new_email` through its link; returns the undo token
/// mailed to the old address.
async fn change_and_get_undo_link(
    app: &TestApp,
    browser: &Browser,
    person: &Person,
    new_email: &str,
) -> String {
    request(browser, &person.password, new_email).await;
    app.deliver_mail().await;
    let token = token_in(app, &only_mail_to(app, new_email), "/account/email/confirm");
    assert_eq!(confirm(app, &token).await.status(), StatusCode::OK);
    app.deliver_mail().await;
    token_in(
        app,
        &only_mail_to(app, &person.email),
        "/account/email/revert",
    )
}

async fn request(browser: &Browser, password: &str, new_email: &str) -> reqwest::Response {
    browser
        .post_form(
            "/api/request_email_change",
            &[("current_password", password), ("new_email", new_email)],
        )
        .await
}

async fn confirm(app: &TestApp, token: &str) -> reqwest::Response {
    app.browser()
        .post_form("/api/confirm_email_change", &[("token", token)])
        .await
}

async fn inspect(app: &TestApp, token: &str) -> Value {
    app.browser()
        .post_form("/api/inspect_email_change", &[("token", token)])
        .await
        .json()
        .await
        .unwrap()
}

async fn inspect_revert(app: &TestApp, token: &str) -> Value {
    app.browser()
        .post_form("/api/inspect_email_revert", &[("token", token)])
        .await
        .json()
        .await
        .unwrap()
}

async fn revert(app: &TestApp, token: &str) -> reqwest::Response {
    app.browser()
        .post_form("/api/revert_email_change", &[("token", token)])
        .await
}

async fn assert_refused(response: reqwest::Response, says: &str) {
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = error_body(response).await;
    let message = body["Conflict"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains(says), "{message}");
}

fn mails_to(app: &TestApp, address: &str) -> Vec<Received> {
    app.smtp
        .messages()
        .into_iter()
        .filter(|m| m.rcpt_to.iter().any(|to| to.eq_ignore_ascii_case(address)))
        .collect()
}

fn only_mail_to(app: &TestApp, address: &str) -> Received {
    let mut mails = mails_to(app, address);
    assert_eq!(mails.len(), 1, "one message to {address}");
    mails.remove(0)
}

/// The token of the link to `path` in a message; the link must be built from the public URL.
fn token_in(app: &TestApp, mail: &Received, path: &str) -> String {
    let text = mail.part("text/plain").expect("a text part");
    let prefix = format!("{}{path}?token=", app.base);
    let start = text
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link to {path} in {text}"))
        + prefix.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
