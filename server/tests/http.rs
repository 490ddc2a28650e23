//! Cross-site request refusal, security headers, error shapes and the health check.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{Person, TestApp, error_body};

db_tests!(
    cross_site_posts_are_refused,
    unexpected_content_types_are_refused,
    pages_carry_security_headers_and_a_matching_nonce,
    api_answers_are_never_cached,
    https_public_urls_harden_cookies_and_add_hsts,
    health_check_reports_the_database,
    unknown_pages_are_404,
);

async fn cross_site_posts_are_refused(app: TestApp) {
    let person = Person::new();
    let client = app.raw_client();
    let sign_up = |headers: &[(&str, &str)]| {
        let mut request = client.post(app.url("/api/sign_up")).form(&[
            ("first_name", person.first_name.as_str()),
            ("last_name", person.last_name.as_str()),
            ("email", person.email.as_str()),
            ("password", person.password.as_str()),
            ("organisation", person.organisation.as_str()),
        ]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };

    let refusals: [&[(&str, &str)]; 4] = [
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", app.base.as_str()),
        ],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "https://evil.example")],
        // Neither header: not provably from this site.
        &[],
    ];
    for headers in refusals {
        let response = sign_up(headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(error_body(response).await, json!("CrossSiteRequest"));
    }
    assert_eq!(app.count("users").await, 0);

    // Sign-out is protected too: another site cannot end someone's session.
    let browser = app.signed_up(&person).await;
    let response = app
        .raw_client()
        .post(app.url("/api/sign_out"))
        .header("cookie", browser.cookie_header())
        .header("sec-fetch-site", "cross-site")
        .form::<[(&str, &str); 0]>(&[])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("sessions").await, 1);

    // The browser's own same-origin request passes on Sec-Fetch-Site alone.
    let response = sign_up(&[("sec-fetch-site", "same-origin")]).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "reaches the handler (address taken)"
    );
}

async fn unexpected_content_types_are_refused(app: TestApp) {
    let response = app
        .browser()
        .http
        .post(app.url("/api/sign_in"))
        .header("content-type", "text/plain")
        .body("email=a@example.com&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_body(response).await, json!("UnsupportedMediaType"));
}

async fn pages_carry_security_headers_and_a_matching_nonce(app: TestApp) {
    let response = app.browser().get("/login").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "'wasm-unsafe-eval'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(!headers.contains_key("strict-transport-security"));
    assert_eq!(headers["x-request-id"].len(), 12);

    // The hydration script carries the nonce the CSP names, and it changes per request.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the page's scripts carry the nonce"
    );
    let again = app.browser().get("/login").await;
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&nonce)
    );
}

async fn api_answers_are_never_cached(app: TestApp) {
    let browser = app.signed_up(&Person::new()).await;
    let response = browser.post_form("/api/current_user", &[]).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = browser.get("/settings/account").await;
    assert_eq!(page.headers()["cache-control"], "no-store");
}

async fn https_public_urls_harden_cookies_and_add_hsts(app: TestApp) {
    let flavor = app.flavor();
    drop(app);
    let app = TestApp::start_with(flavor, |settings| {
        settings.public_url =
            app::backend::settings::PublicUrl::parse("https://account.example.com").unwrap();
    })
    .await
    .expect("database");
    let person = Person::new();
    let response = app
        .raw_client()
        .post(app.url("/api/sign_up"))
        .header("origin", "https://account.example.com")
        .form(&[
            ("first_name", person.first_name.as_str()),
            ("last_name", person.last_name.as_str()),
            ("email", person.email.as_str()),
            ("password", person.password.as_str()),
            ("organisation", person.organisation.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let cookie = support::set_cookies(&response).into_iter().next().unwrap();
    assert!(cookie.starts_with("__Host-importops_session="));
    assert!(cookie.contains("Secure"));
    assert!(!cookie.contains("Domain"));
}

async fn health_check_reports_the_database(app: TestApp) {
    let response = app
        .raw_client()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");

    // With the database gone, requests get a clear 503 instead of hanging or crashing.
    app.state.db().clone().close().await.unwrap();
    let response = app
        .raw_client()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let response = app
        .browser()
        .sign_in("ana@example.com", "any password at all")
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = error_body(response).await;
    assert!(
        body["Unavailable"]["reference"]
            .as_str()
            .is_some_and(|r| r.len() == 12)
    );
}

async fn unknown_pages_are_404(app: TestApp) {
    let response = app.browser().get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found"));
}
