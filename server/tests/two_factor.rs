//! Two-factor authentication through HTTP on the real server, on SQLite and PostgreSQL:
//! enrolment, the half-signed-in state, code windows, replay, throttling, recovery codes,
//! turning it off, and an organisation that requires it.

mod support;

use app::backend::{
    clock::Timestamp,
    two_factor::{TotpSecret, codes::code_at},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Browser, Person, TestApp, all_at_once, error_body};

db_tests!(
    enrolment_then_every_sign_in_asks_for_a_code,
    a_half_signed_in_session_reaches_nothing_else_and_expires,
    codes_are_accepted_one_step_either_side_and_once,
    twenty_parallel_submissions_of_one_code_let_exactly_one_in,
    a_burst_of_wrong_codes_is_throttled_like_a_sequence,
    wrong_codes_slow_down_then_lock_and_mail,
    recovery_codes_work_once_and_are_mailed_about,
    regenerating_recovery_codes_replaces_them,
    turning_it_off_needs_the_password_and_a_code,
    an_organisation_can_require_it,
    the_secret_is_sealed_at_rest,
    a_password_change_ends_half_finished_sign_ins,
    changing_the_password_also_needs_a_code,
    a_slow_set_up_and_malformed_codes_are_not_held_against_anyone,
);

/// A person with two-factor authentication on: their browser, the secret (as their phone
/// holds it) and their recovery codes.
struct Enrolled {
    person: Person,
    browser: Browser,
    secret: TotpSecret,
    recovery: Vec<String>,
}

fn now(app: &TestApp) -> Timestamp {
    app.state.clock().now()
}

fn code(app: &TestApp, secret: &TotpSecret) -> String {
    code_at(secret, now(app)).to_string()
}

fn secret_from(uri: &str) -> TotpSecret {
    let key = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    TotpSecret::from_base32(key).expect("a base32 secret")
}

/// "Next" on the wizard's first step: the secret the new QR code holds.
async fn start(browser: &Browser) -> TotpSecret {
    let setup: Value = browser
        .post_form("/api/start_two_factor", &[])
        .await
        .json()
        .await
        .unwrap();
    secret_from(setup["otpauth_uri"].as_str().unwrap())
}

async fn enrol(app: &TestApp) -> Enrolled {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let secret = start(&browser).await;
    let response = browser
        .post_form("/api/confirm_two_factor", &[("code", &code(app, &secret))])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let recovery: Vec<String> = response.json().await.unwrap();
    Enrolled {
        person,
        browser,
        secret,
        recovery,
    }
}

/// Signs in with the password on a new browser; it is then waiting for its code.
async fn half_signed_in(app: &TestApp, person: &Person) -> Browser {
    let browser = app.browser();
    let response = browser.sign_in(&person.email, &person.password).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<String>().await.unwrap(),
        "/login/two-factor?next=/settings/account"
    );
    browser
}

/// Sends a (not even valid) picture to the upload route, which is no server function.
async fn upload_avatar(app: &TestApp, browser: &Browser) -> StatusCode {
    let picture = reqwest::multipart::Part::bytes(vec![0u8; 64]).file_name("me.png");
    browser
        .http
        .post(app.url("/account/avatar"))
        .multipart(reqwest::multipart::Form::new().part("avatar", picture))
        .send()
        .await
        .unwrap()
        .status()
}

async fn verify(browser: &Browser, code: &str) -> reqwest::Response {
    browser
        .post_form("/api/verify_two_factor", &[("code", code)])
        .await
}

async fn enrolment_then_every_sign_in_asks_for_a_code(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;

    let setup = browser.post_form("/api/start_two_factor", &[]).await;
    assert_eq!(setup.status(), StatusCode::OK);
    assert_eq!(setup.headers()["cache-control"], "no-store");
    let setup: Value = setup.json().await.unwrap();
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!(
            "otpauth://totp/ImportOps:{}?secret=",
            person.email
        )),
        "{uri}"
    );
    for part in [
        "issuer=ImportOps",
        "algorithm=SHA1",
        "digits=6",
        "period=30",
    ] {
        assert!(uri.contains(part), "{uri} lacks {part}");
    }
    let key = setup["key"].as_str().unwrap();
    assert_eq!(
        key.split(' ').count(),
        8,
        "160 bits in groups of four: {key}"
    );
    let secret = secret_from(uri);

    // Pending until a valid code confirms it.
    assert_eq!(browser.current_user().await["two_factor_enabled"], false);
    let wrong = browser
        .post_form("/api/confirm_two_factor", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_body(wrong).await["Invalid"][0]["field"], "code");
    let enrolment_code = code(&app, &secret);
    let response = browser
        .post_form("/api/confirm_two_factor", &[("code", &enrolment_code)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let recovery: Vec<String> = response.json().await.unwrap();
    assert_eq!(recovery.len(), 10);
    assert!(
        recovery
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'),
        "{recovery:?}"
    );
    let me = browser.current_user().await;
    assert_eq!(me["two_factor_enabled"], true);
    assert_eq!(me["recovery_codes_left"], 10);
    app.deliver_mail().await;
    assert!(
        app.smtp
            .messages()
            .iter()
            .any(|m| m.header("Subject").as_deref() == Some("Two-factor authentication is on"))
    );

    // Sign in again: the password is not enough.
    browser.sign_out().await;
    let device = half_signed_in(&app, &person).await;
    // The enrolment code counts as used.
    let replay = verify(&device, &enrolment_code).await;
    assert_eq!(
        error_body(replay).await["Invalid"][0]["message"],
        "That code was already used. Wait for the next code in your app and enter it."
    );
    app.clock.advance(Duration::from_secs(30));
    let before = device.cookie_header();
    let response = verify(&device, &code(&app, &secret)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<String>().await.unwrap(),
        "/settings/account"
    );
    assert_ne!(
        device.cookie_header(),
        before,
        "a new token after the second factor"
    );
    assert_eq!(device.current_user().await["email"], person.email.as_str());
    assert!(
        app.event_kinds()
            .await
            .contains(&"two_factor_enabled".to_owned())
    );
}

async fn a_half_signed_in_session_reaches_nothing_else_and_expires(app: TestApp) {
    let enrolled = enrol(&app).await;
    let device = half_signed_in(&app, &enrolled.person).await;

    let page = device.get("/settings/team").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers()["location"],
        "/login/two-factor?next=/settings/team"
    );
    assert_eq!(device.current_user().await, Value::Null);
    // Every function that acts for a signed-in person, each with arguments it would accept.
    let password = enrolled.person.password.as_str();
    let a_code = code(&app, &enrolled.secret);
    let calls: [(&str, Vec<(&str, &str)>); 16] = [
        ("list_sessions", vec![]),
        ("team_members", vec![]),
        ("security_activity", vec![]),
        ("start_two_factor", vec![]),
        ("confirm_two_factor", vec![("code", &a_code)]),
        ("regenerate_recovery_codes", vec![]),
        (
            "disable_two_factor",
            vec![("password", password), ("code", &a_code)],
        ),
        ("confirm_password", vec![("password", password)]),
        (
            "change_password",
            vec![
                ("current_password", password),
                ("new_password", "violet submarine at dawn"),
                ("confirm_password", "violet submarine at dawn"),
                ("code", &a_code),
            ],
        ),
        ("revoke_session", vec![("session_id", "1")]),
        ("revoke_other_sessions", vec![]),
        (
            "update_profile",
            vec![("first_name", "Mallory"), ("last_name", "X")],
        ),
        ("remove_avatar", vec![]),
        (
            "request_email_change",
            vec![
                ("current_password", password),
                ("new_email", "m@example.com"),
            ],
        ),
        ("resend_email_change", vec![]),
        ("cancel_email_change", vec![]),
    ];
    for (function, form) in calls {
        let response = device.post_form(&format!("/api/{function}"), &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{function}");
    }
    assert_eq!(
        upload_avatar(&app, &device).await,
        StatusCode::UNAUTHORIZED,
        "avatar upload"
    );
    assert_eq!(
        app.count("security_events WHERE kind IN ('password_changed', 'two_factor_disabled')")
            .await,
        0
    );
    assert_eq!(
        device.get("/login/two-factor").await.status(),
        StatusCode::OK
    );

    // Five minutes later the half-finished sign-in is gone.
    app.clock.advance(Duration::from_secs(5 * 60));
    let response = verify(&device, &code(&app, &enrolled.secret)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        device.get("/login/two-factor").await.headers()["location"],
        "/login"
    );
}

async fn codes_are_accepted_one_step_either_side_and_once(app: TestApp) {
    let enrolled = enrol(&app).await;
    app.clock.advance(Duration::from_secs(90));
    let device = half_signed_in(&app, &enrolled.person).await;

    let sixty_ago = code_at(&enrolled.secret, now(&app).minus(Duration::from_secs(60))).to_string();
    let response = verify(&device, &sixty_ago).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a 60 s old code fails"
    );
    let thirty_ago =
        code_at(&enrolled.secret, now(&app).minus(Duration::from_secs(30))).to_string();
    assert_eq!(
        verify(&device, &thirty_ago).await.status(),
        StatusCode::OK,
        "a 30 s old code passes"
    );

    // The same code on another device is a replay.
    let other = half_signed_in(&app, &enrolled.person).await;
    let replay = verify(&other, &thirty_ago).await;
    assert_eq!(replay.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.event_kinds()
            .await
            .contains(&"two_factor_replayed".to_owned())
    );
    // A code 30 s ahead (clock drift) is accepted.
    let ahead = code_at(&enrolled.secret, now(&app).plus(Duration::from_secs(30))).to_string();
    assert_eq!(verify(&other, &ahead).await.status(), StatusCode::OK);
}

async fn twenty_parallel_submissions_of_one_code_let_exactly_one_in(app: TestApp) {
    let enrolled = enrol(&app).await;
    app.clock.advance(Duration::from_secs(30));
    let device = half_signed_in(&app, &enrolled.person).await;
    let code = code(&app, &enrolled.secret);
    let attempts = (0..20).map(|_| {
        let device = device.clone();
        let code = code.clone();
        tokio::spawn(async move { verify(&device, &code).await.status() })
    });
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    let winners = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(winners, 1, "{statuses:?}");
}

async fn a_burst_of_wrong_codes_is_throttled_like_a_sequence(app: TestApp) {
    let enrolled = enrol(&app).await;
    app.clock.advance(Duration::from_secs(30));
    let device = half_signed_in(&app, &enrolled.person).await;
    let right = code(&app, &enrolled.secret);
    let guesses: Vec<String> = (0..12)
        .map(|n| format!("{:06}", (right.parse::<u32>().unwrap() + 1 + n) % 1_000_000))
        .collect();
    let statuses = all_at_once(guesses.len(), |n| {
        let device = device.clone();
        let guess = guesses[n].clone();
        async move { verify(&device, &guess).await.status() }
    })
    .await;
    // Checked one at a time: three wrong codes count, then the rest must wait for the next
    // code, however many arrived together.
    let counted = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let waited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((counted, waited), (3, 9), "{statuses:?}");
    assert_eq!(
        app.count("security_events WHERE kind = 'two_factor_failed'")
            .await,
        3
    );
}

async fn wrong_codes_slow_down_then_lock_and_mail(app: TestApp) {
    let enrolled = enrol(&app).await;
    app.clock.advance(Duration::from_secs(30));
    let device = half_signed_in(&app, &enrolled.person).await;
    for _ in 0..3 {
        assert_eq!(
            verify(&device, "123456").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    // After three, the next attempt waits for the next code.
    let waiting = verify(&device, &code(&app, &enrolled.secret)).await;
    assert_eq!(waiting.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = waiting.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait));

    // After ten, codes are locked for 15 minutes and the person is told.
    let mut device = device;
    for _ in 3..10 {
        app.clock.advance(Duration::from_secs(30));
        if device.current_user().await.is_null()
            && device.get("/login/two-factor").await.status() != StatusCode::OK
        {
            device = half_signed_in(&app, &enrolled.person).await;
        }
        assert_eq!(
            verify(&device, "123456").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    app.clock.advance(Duration::from_secs(30));
    let device = half_signed_in(&app, &enrolled.person).await;
    let locked = verify(&device, &code(&app, &enrolled.secret)).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 14 * 60 && wait <= 15 * 60, "locked for {wait} s");
    app.deliver_mail().await;
    assert!(
        app.smtp
            .messages()
            .iter()
            .any(|m| m.header("Subject").as_deref()
                == Some("Two-factor codes locked on your ImportOps account"))
    );
    assert!(
        app.event_kinds()
            .await
            .contains(&"two_factor_locked".to_owned())
    );

    app.clock.advance(Duration::from_secs(15 * 60));
    let device = half_signed_in(&app, &enrolled.person).await;
    assert_eq!(
        verify(&device, &code(&app, &enrolled.secret))
            .await
            .status(),
        StatusCode::OK
    );
}

async fn recovery_codes_work_once_and_are_mailed_about(app: TestApp) {
    let enrolled = enrol(&app).await;
    let device = half_signed_in(&app, &enrolled.person).await;
    let recovery = enrolled.recovery[3].to_uppercase().replace('-', " ");
    let response = device
        .post_form("/api/verify_recovery_code", &[("recovery_code", &recovery)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(device.current_user().await["recovery_codes_left"], 9);
    app.deliver_mail().await;
    let mail = app
        .smtp
        .messages()
        .into_iter()
        .find(|m| {
            m.header("Subject").as_deref()
                == Some("A recovery code was used for your ImportOps account")
        })
        .expect("a mail about the recovery code");
    assert!(
        mail.part("text/plain")
            .unwrap()
            .contains("You have 9 recovery codes left.")
    );

    let again = half_signed_in(&app, &enrolled.person).await;
    let reused = again
        .post_form(
            "/api/verify_recovery_code",
            &[("recovery_code", &enrolled.recovery[3])],
        )
        .await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_body(reused).await["Invalid"][0]["field"],
        "recovery_code"
    );
}

async fn regenerating_recovery_codes_replaces_them(app: TestApp) {
    let enrolled = enrol(&app).await;
    let fresh: Vec<String> = enrolled
        .browser
        .post_form("/api/regenerate_recovery_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !enrolled.recovery.contains(c)));
    let device = half_signed_in(&app, &enrolled.person).await;
    let old = device
        .post_form(
            "/api/verify_recovery_code",
            &[("recovery_code", &enrolled.recovery[0])],
        )
        .await;
    assert_eq!(old.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let new = device
        .post_form("/api/verify_recovery_code", &[("recovery_code", &fresh[0])])
        .await;
    assert_eq!(new.status(), StatusCode::OK);

    // Past the sudo window it asks for the password first.
    app.clock
        .advance(app.state.settings().sudo_window + Duration::from_secs(1));
    let response = device
        .post_form("/api/regenerate_recovery_codes", &[])
        .await;
    assert_eq!(
        error_body(response).await,
        json!("PasswordConfirmationRequired")
    );
}

async fn turning_it_off_needs_the_password_and_a_code(app: TestApp) {
    let enrolled = enrol(&app).await;
    let browser = &enrolled.browser;
    app.clock.advance(Duration::from_secs(30));
    let good = code(&app, &enrolled.secret);
    let wrong_password = browser
        .post_form(
            "/api/disable_two_factor",
            &[("password", "not it at all"), ("code", &good)],
        )
        .await;
    assert_eq!(error_body(wrong_password).await, json!("IncorrectPassword"));
    app.clock.advance(Duration::from_secs(1));
    let wrong_code = browser
        .post_form(
            "/api/disable_two_factor",
            &[("password", &enrolled.person.password), ("code", "000000")],
        )
        .await;
    assert_eq!(error_body(wrong_code).await["Invalid"][0]["field"], "code");
    let response = browser
        .post_form(
            "/api/disable_two_factor",
            &[("password", &enrolled.person.password), ("code", &good)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(browser.current_user().await["two_factor_enabled"], false);
    assert_eq!(app.count("recovery_codes").await, 0);
    app.deliver_mail().await;
    assert!(
        app.smtp
            .messages()
            .iter()
            .any(|m| m.header("Subject").as_deref() == Some("Two-factor authentication is off"))
    );

    // Signing in needs only the password again.
    app.clock.advance(Duration::from_secs(2));
    let signed_in = app
        .browser()
        .sign_in(&enrolled.person.email, &enrolled.person.password)
        .await;
    assert_eq!(
        signed_in.json::<String>().await.unwrap(),
        "/settings/account"
    );
}

async fn an_organisation_can_require_it(app: TestApp) {
    use app::backend::entities::organisations;
    use sea_orm::{EntityTrait, Set};
    let enrolled = enrol(&app).await;
    let member = Person::new();
    let member_browser = app.signed_up(&member).await;
    for email in [&enrolled.person.email, &member.email] {
        let user = app::backend::entities::users::Entity::find()
            .all(app.state.db())
            .await
            .unwrap()
            .into_iter()
            .find(|u| &u.email == email)
            .unwrap();
        organisations::Entity::update(organisations::ActiveModel {
            id: Set(user.organisation_id),
            require_two_factor: Set(true),
            ..Default::default()
        })
        .exec(app.state.db())
        .await
        .unwrap();
    }

    // Someone with it on cannot turn it off.
    app.clock.advance(Duration::from_secs(30));
    let response = enrolled
        .browser
        .post_form(
            "/api/disable_two_factor",
            &[
                ("password", &enrolled.person.password),
                ("code", &code(&app, &enrolled.secret)),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        error_body(response).await["Conflict"]["message"]
            .as_str()
            .unwrap()
            .contains("requires two-factor")
    );
    assert_eq!(
        enrolled.browser.current_user().await["two_factor_required"],
        true
    );

    // Someone without it can only set it up (or sign out).
    let team = member_browser.post_form("/api/team_members", &[]).await;
    assert_eq!(team.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_body(team).await, json!("TwoFactorSetupRequired"));
    assert_eq!(
        upload_avatar(&app, &member_browser).await,
        StatusCode::FORBIDDEN,
        "avatar upload"
    );
    assert_eq!(
        member_browser.get("/settings/team").await.headers()["location"],
        "/settings/account"
    );
    assert_eq!(
        member_browser.get("/settings/account").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        member_browser
            .post_form("/api/start_two_factor", &[])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        member_browser.current_user().await["two_factor_required"],
        true
    );

    // Once the password window has passed, they can confirm it's them and carry on.
    app.clock.advance(Duration::from_secs(11 * 60));
    let late = member_browser.post_form("/api/start_two_factor", &[]).await;
    assert_eq!(late.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        error_body(late).await,
        json!("PasswordConfirmationRequired")
    );
    let confirmed = member_browser
        .post_form("/api/confirm_password", &[("password", &member.password)])
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(
        member_browser
            .post_form("/api/start_two_factor", &[])
            .await
            .status(),
        StatusCode::OK
    );
}

async fn the_secret_is_sealed_at_rest(app: TestApp) {
    use app::backend::entities::two_factor;
    use sea_orm::EntityTrait;
    let enrolled = enrol(&app).await;
    let row = two_factor::Entity::find()
        .one(app.state.db())
        .await
        .unwrap()
        .unwrap();
    let key = enrolled.secret.base32();
    let stored = String::from_utf8_lossy(&row.sealed_secret).to_string();
    assert!(!stored.contains(key.as_str()));
    assert_ne!(row.sealed_secret.len(), 20, "not the raw 160 bits");
    assert!(row.enabled_at.is_some());
    assert!(
        row.last_step.is_some(),
        "the enrolment code's step is recorded as used"
    );
}

async fn a_password_change_ends_half_finished_sign_ins(app: TestApp) {
    let enrolled = enrol(&app).await;
    let waiting = half_signed_in(&app, &enrolled.person).await;
    app.clock.advance(Duration::from_secs(30));
    let response = enrolled
        .browser
        .post_form(
            "/api/change_password",
            &[
                ("current_password", &enrolled.person.password),
                ("new_password", "violet submarine at dawn"),
                ("confirm_password", "violet submarine at dawn"),
                ("code", &code(&app, &enrolled.secret)),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(30));
    let response = verify(&waiting, &code(&app, &enrolled.secret)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn changing_the_password_also_needs_a_code(app: TestApp) {
    let enrolled = enrol(&app).await;
    let browser = &enrolled.browser;
    let new_password = "violet submarine at dawn";
    let change = |code: Option<String>| {
        let mut form = vec![
            ("current_password", enrolled.person.password.clone()),
            ("new_password", new_password.to_owned()),
            ("confirm_password", new_password.to_owned()),
        ];
        form.extend(code.map(|code| ("code", code)));
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post_form("/api/change_password", &form).await
        }
    };

    // Without a code, or with a wrong one or the one that confirmed the set-up, nothing
    // changes and the reason is given beside the code field.
    let missing = change(None).await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(missing).await;
    assert_eq!(body["Invalid"][0]["field"], "code");
    assert_eq!(
        body["Invalid"][0]["message"],
        "Enter the 6-digit code from your authenticator app."
    );
    let wrong = change(Some("000000".into())).await;
    assert_eq!(error_body(wrong).await["Invalid"][0]["field"], "code");
    let replayed = change(Some(code(&app, &enrolled.secret))).await;
    let body = error_body(replayed).await;
    assert_eq!(body["Invalid"][0]["field"], "code");
    assert!(
        body["Invalid"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("That code was already used."),
        "{body}"
    );
    assert_eq!(
        app.count("security_events WHERE kind = 'password_changed'")
            .await,
        0
    );

    // With the next code from the app the password changes, and that code is used up.
    app.clock.advance(Duration::from_secs(30));
    let good = code(&app, &enrolled.secret);
    assert_eq!(change(Some(good.clone())).await.status(), StatusCode::OK);
    let signed_in = app
        .browser()
        .sign_in(&enrolled.person.email, new_password)
        .await;
    assert_eq!(
        signed_in.json::<String>().await.unwrap(),
        "/login/two-factor?next=/settings/account"
    );
    let again = browser
        .post_form(
            "/api/change_password",
            &[
                ("current_password", new_password),
                ("new_password", "another long passphrase here"),
                ("confirm_password", "another long passphrase here"),
                ("code", &good),
            ],
        )
        .await;
    assert_eq!(error_body(again).await["Invalid"][0]["field"], "code");
}

async fn a_slow_set_up_and_malformed_codes_are_not_held_against_anyone(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;
    let secret = start(&browser).await;

    // Installing an app can take longer than the password window: confirming needs only
    // a code from the new secret.
    app.clock
        .advance(app.state.settings().sudo_window + Duration::from_secs(60));
    // Typos are answered with what a code looks like, and are not counted as attempts.
    for typo in ["", "12 34", "12345a", "1234567"] {
        for _ in 0..4 {
            let response = browser
                .post_form("/api/confirm_two_factor", &[("code", typo)])
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{typo:?}"
            );
            let body = error_body(response).await;
            assert_eq!(body["Invalid"][0]["field"], "code");
        }
    }
    let response = browser
        .post_form("/api/confirm_two_factor", &[("code", &code(&app, &secret))])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let recovery: Vec<String> = response.json().await.unwrap();
    assert_eq!(recovery.len(), 10);
}
