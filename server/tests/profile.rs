//! "Your profile": names and the avatar upload, through HTTP on the real server, on SQLite
//! and PostgreSQL.

mod support;

use image::{ImageEncoder, Rgba, RgbaImage, codecs::png::PngEncoder};
use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};
use support::{Browser, Person, TestApp, error_body};

db_tests!(
    names_are_trimmed_validated_and_nothing_else_changes,
    an_upload_becomes_a_256_pixel_jpeg_served_forever,
    bad_uploads_are_refused_and_the_old_avatar_stays,
    replacing_deletes_the_old_picture_and_removing_returns_to_initials,
    uploads_need_a_session_and_this_site,
    the_limits_and_the_time_limit_come_from_the_settings,
);

async fn names_are_trimmed_validated_and_nothing_else_changes(app: TestApp) {
    let person = Person::new();
    let browser = app.signed_up(&person).await;

    let response = browser
        .post_form(
            "/api/update_profile",
            // Extra fields are ignored: only the names can change here.
            &[
                ("first_name", "  Zoë "),
                ("last_name", "Ñúñez 李"),
                ("email", "mallory@example.com"),
                ("role", "Admin"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let me = browser.current_user().await;
    assert_eq!(me["first_name"], "Zoë");
    assert_eq!(me["last_name"], "Ñúñez 李");
    assert_eq!(me["email"], person.email.as_str());
    assert_eq!(me["role"], "Owner");
    assert!(
        app.event_kinds()
            .await
            .contains(&"profile_updated".to_owned())
    );

    for (first, last, field) in [
        ("", "Lopez", "first_name"),
        ("Ana", &"x".repeat(101) as &str, "last_name"),
        ("Ana\u{0000}", "Lopez", "first_name"),
        ("Ana", "Lo\npez", "last_name"),
    ] {
        let response = browser
            .post_form(
                "/api/update_profile",
                &[("first_name", first), ("last_name", last)],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{first:?} {last:?}"
        );
        assert_eq!(error_body(response).await["Invalid"][0]["field"], field);
    }
    assert_eq!(browser.current_user().await["first_name"], "Zoë");

    // 100 characters of any script are fine.
    let long = "é".repeat(100);
    let response = browser
        .post_form(
            "/api/update_profile",
            &[("first_name", &long), ("last_name", "L")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn an_upload_becomes_a_256_pixel_jpeg_served_forever(app: TestApp) {
    let browser = app.signed_up(&Person::new()).await;
    let response = upload(&browser, "photo.png", png_with_alpha(900, 500)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let url = response.json::<Value>().await.unwrap()["avatar_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with("/avatars/")
            && url.ends_with(".jpg")
            && url.len() == "/avatars/".len() + 64 + 4
    );
    assert_eq!(browser.current_user().await["avatar_url"], url.as_str());

    let served = app.raw_client().get(app.url(&url)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let headers = served.headers().clone();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", &url[9..73]));
    let bytes = served.bytes().await.unwrap();
    let picture = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((picture.width(), picture.height()), (256, 256));
    // Transparent corners were flattened onto white.
    let corner = picture.to_rgb8().get_pixel(2, 2).0;
    assert!(corner.iter().all(|c| *c > 240), "corner {corner:?}");

    let again = app
        .raw_client()
        .get(app.url(&url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Team & roles shows it too.
    let members: Value = browser
        .post_form("/api/team_members", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members[0]["avatar_url"], url.as_str());

    assert!(
        app.event_kinds()
            .await
            .contains(&"avatar_changed".to_owned())
    );
    assert_eq!(
        app.raw_client()
            .get(app.url("/avatars/nothing.jpg"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn bad_uploads_are_refused_and_the_old_avatar_stays(app: TestApp) {
    let browser = app.signed_up(&Person::new()).await;
    let good = upload(&browser, "good.png", png_with_alpha(300, 300)).await;
    let url = good.json::<Value>().await.unwrap()["avatar_url"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut truncated_png = png_with_alpha(400, 400);
    truncated_png.truncate(truncated_png.len() / 2);
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&[0u8; 64]);
    let unsupported = "Use a JPEG, PNG, WebP or GIF image.";
    let cases: Vec<(&str, Vec<u8>, StatusCode, Option<&str>)> = vec![
        (
            "drawing.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(unsupported),
        ),
        (
            "page.jpg",
            b"<!DOCTYPE html><html><body>hi</body></html>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(unsupported),
        ),
        (
            "scan.jpg",
            tiff,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(unsupported),
        ),
        (
            "cut.png",
            truncated_png,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "empty.png",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "bomb.png",
            png_header_only(20_000, 20_000),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("That image is 20000x20000 pixels."),
        ),
        (
            "huge.png",
            vec![0u8; 11 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
        ),
    ];
    for (name, bytes, status, message) in cases {
        let started = std::time::Instant::now();
        // Each upload on its own connection: the server may close one it refuses unread.
        let form = multipart::Form::new().part(
            "avatar",
            multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
        let response = app
            .raw_client()
            .post(app.url("/account/avatar"))
            .header("cookie", browser.cookie_header())
            .header("origin", app.base.as_str())
            .multipart(form)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            // Refused before the client finished sending: the connection was closed on it.
            Err(error) if status == StatusCode::PAYLOAD_TOO_LARGE && error.is_request() => {
                assert_eq!(browser.current_user().await["avatar_url"], url.as_str());
                continue;
            }
            Err(error) => panic!("{name}: {error}"),
        };
        assert_eq!(response.status(), status, "{name}");
        let body = error_body(response).await;
        if let Some(message) = message {
            let text = body["Invalid"][0]["message"].as_str().unwrap_or_default();
            assert!(text.starts_with(message), "{name}: {body}");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name} was refused slowly"
        );
        assert_eq!(
            browser.current_user().await["avatar_url"],
            url.as_str(),
            "{name} changed the avatar"
        );
    }
    let served = app.raw_client().get(app.url(&url)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let rejected = app
        .event_kinds()
        .await
        .iter()
        .filter(|k| *k == "upload_rejected")
        .count();
    assert!(rejected >= 5, "{rejected} rejections logged");
}

async fn replacing_deletes_the_old_picture_and_removing_returns_to_initials(app: TestApp) {
    let browser = app.signed_up(&Person::new()).await;
    let first = upload(&browser, "a.png", png_with_alpha(300, 200))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let first_url = first["avatar_url"].as_str().unwrap().to_owned();
    let second = upload(&browser, "b.png", png_with_alpha(200, 300))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let second_url = second["avatar_url"].as_str().unwrap().to_owned();
    assert_ne!(first_url, second_url);
    assert_eq!(app.count("avatars").await, 1);
    assert_eq!(
        app.raw_client()
            .get(app.url(&first_url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.raw_client()
            .get(app.url(&second_url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let response = browser.post_form("/api/remove_avatar", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(browser.current_user().await["avatar_url"], Value::Null);
    assert_eq!(app.count("avatars").await, 0);
    assert_eq!(
        app.raw_client()
            .get(app.url(&second_url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn uploads_need_a_session_and_this_site(app: TestApp) {
    let visitor = app.browser();
    let response = upload(&visitor, "a.png", png_with_alpha(64, 64)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(response).await, json!("Unauthenticated"));

    let browser = app.signed_up(&Person::new()).await;
    let form = multipart::Form::new().part(
        "avatar",
        multipart::Part::bytes(png_with_alpha(64, 64)).file_name("a.png"),
    );
    let response = app
        .raw_client()
        .post(app.url("/account/avatar"))
        .header("cookie", browser.cookie_header())
        .header("sec-fetch-site", "cross-site")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("avatars").await, 0);

    let response = browser
        .http
        .post(app.url("/account/avatar"))
        .header("content-type", "image/png")
        .body(png_with_alpha(64, 64))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn upload(browser: &Browser, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = multipart::Form::new().part(
        "avatar",
        multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    browser
        .http
        .post(format!("{}/account/avatar", browser.base))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// A picture with a transparent border around an opaque coloured middle.
fn png_with_alpha(width: u32, height: u32) -> Vec<u8> {
    let picture = RgbaImage::from_fn(width, height, |x, y| {
        let inside = x > width / 4 && x < 3 * width / 4 && y > height / 4 && y < 3 * height / 4;
        if inside {
            Rgba([30, 90, 200, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(
            picture.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    bytes
}

/// A PNG that claims enormous dimensions: signature, IHDR and IEND, no pixel data. A
/// decoder that trusted it would try to allocate gigabytes.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IEND", &[]);
    out
}

async fn the_limits_and_the_time_limit_come_from_the_settings(app: TestApp) {
    let flavor = app.flavor();
    drop(app);

    // Smaller dimensions than the default: the refusal names the configured ones.
    let app = TestApp::start_with(flavor, |settings| {
        settings.avatar_limits.max_width = 100;
        settings.avatar_limits.max_height = 100;
    })
    .await
    .expect("database");
    let browser = app.signed_up(&Person::new()).await;
    let response = upload(&browser, "wide.png", png_with_alpha(200, 50)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(response).await.to_string();
    assert!(
        body.contains("That image is 200x50 pixels. Use one of at most 100x100 pixels."),
        "{body}"
    );
    assert_eq!(
        upload(&browser, "small.png", png_with_alpha(100, 100))
            .await
            .status(),
        StatusCode::OK
    );
    drop(app);

    // No time at all to make the picture: refused with the reason, nothing stored.
    let app = TestApp::start_with(flavor, |settings| {
        settings.avatar_processing_timeout = std::time::Duration::ZERO;
    })
    .await
    .expect("database");
    let browser = app.signed_up(&Person::new()).await;
    let response = upload(&browser, "photo.png", png_with_alpha(64, 64)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(response).await.to_string();
    assert!(body.contains("took too long to process"), "{body}");
    assert_eq!(app.count("avatars").await, 0);
}
