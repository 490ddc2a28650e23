//! The test harness: the real server, in-process, on a fresh database.
//!
//! Each test gets its own SQLite file or PostgreSQL schema, a pinned clock it can move, HTTP
//! clients that behave like a browser on this site (cookies, `Origin`), and an SMTP server
//! that receives the app's mail when a test delivers it ([`TestApp::deliver_mail`]). Tests written
//! with [`db_tests!`] run once on each database.

#![allow(dead_code)]

pub mod smtp;

use app::backend::{
    clock::{Clock, ManualClock},
    mail::{MailSettings, MailTransport, Mailer, SmtpUrl, parse_sender},
    secret_key::SecretKey,
    settings::{PublicUrl, Settings},
    state::AppState,
    testing::{Flavor, TestDatabase},
};
use reqwest::{Response, StatusCode, header};
use serde_json::Value;
use server::{Site, middleware::HttpSettings};
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

pub use app::backend::testing::Flavor as DbFlavor;

/// Runs each named `async fn(TestApp)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::support::TestApp::start($crate::support::DbFlavor::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::support::TestApp::start($crate::support::DbFlavor::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub database: TestDatabase,
    /// The SMTP server the app's mail goes to.
    pub smtp: smtp::SmtpSink,
    /// The settings [`TestApp::mailer`] was built with.
    pub mail: MailSettings,
    mailer: Mailer,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn start(flavor: Flavor) -> Option<Self> {
        Self::start_with(flavor, |_| {}).await
    }

    /// Starts with adjusted settings (small thresholds, an https public URL…).
    pub async fn start_with(flavor: Flavor, adjust: impl FnOnce(&mut Settings)) -> Option<Self> {
        Self::start_configured(flavor, adjust, |_| {}).await
    }

    /// Starts with adjusted settings and mail settings. Mail goes by default to
    /// [`TestApp::smtp`], a sink started (up) for this app; `adjust_mail` may point it
    /// elsewhere, for example at another SMTP URL.
    pub async fn start_configured(
        flavor: Flavor,
        adjust: impl FnOnce(&mut Settings),
        adjust_mail: impl FnOnce(&mut MailSettings),
    ) -> Option<Self> {
        let database = TestDatabase::new(flavor).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let base = format!("http://{address}");

        let mut settings = Settings::new(PublicUrl::parse(&base).expect("public URL"));
        settings.password_hashing_permits = 2;
        adjust(&mut settings);
        let clock = Arc::new(ManualClock::pinned());
        let state = AppState::new(
            database.db.clone(),
            settings,
            clock.clone(),
            SecretKey::generate(),
        );
        let site = Site::new(
            std::path::Path::new("target/site"),
            address,
            HttpSettings {
                trusted_proxies: Arc::from([]),
            },
        );
        let app =
            server::router(state.clone(), site).into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });

        let smtp = smtp::SmtpSink::start().await;
        let mut mail = MailSettings::new(
            MailTransport::Smtp(SmtpUrl::parse(&smtp.url()).expect("sink URL")),
            parse_sender("ImportOps <no-reply@importops.test>").expect("sender"),
        );
        adjust_mail(&mut mail);
        let mailer = Mailer::new(state.clone(), mail.clone()).expect("mailer");
        Some(TestApp {
            base,
            state,
            clock,
            database,
            smtp,
            mail,
            mailer,
            server,
        })
    }

    /// This app's mail worker, for driving by hand with [`Mailer::deliver_due`].
    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Another mail worker on this app's state, with adjusted settings.
    pub fn mailer_with(&self, adjust: impl FnOnce(&mut MailSettings)) -> Mailer {
        let mut settings = self.mail.clone();
        adjust(&mut settings);
        Mailer::new(self.state.clone(), settings).expect("mailer")
    }

    /// Sends the mail due at the pinned clock's time; returns how many messages were
    /// handled.
    pub async fn deliver_mail(&self) -> usize {
        self.mailer
            .deliver_due(self.clock.now())
            .await
            .expect("deliver mail")
    }

    /// A browser: keeps cookies and sends this site's `Origin` with every request.
    pub fn browser(&self) -> Browser {
        let mut headers = header::HeaderMap::new();
        headers.insert(
            header::ORIGIN,
            self.state
                .settings()
                .public_url
                .origin()
                .parse()
                .expect("origin"),
        );
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("client");
        Browser {
            http,
            jar,
            base: self.base.clone(),
        }
    }

    /// A client with no cookies and no `Origin`, for crafting requests by hand.
    pub fn raw_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// The database this app runs on, to start another app on the same kind.
    pub fn flavor(&self) -> DbFlavor {
        if self.database.schema.is_some() {
            DbFlavor::Postgres
        } else {
            DbFlavor::Sqlite
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs up a new person in a new organisation and returns their signed-in browser.
    pub async fn signed_up(&self, person: &Person) -> Browser {
        let browser = self.browser();
        let response = browser.sign_up(person).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "sign-up failed: {}",
            response.text().await.unwrap_or_default()
        );
        browser
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sea_orm::{ConnectionTrait, Statement};
        let db = self.state.db();
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// The kinds of security events recorded, oldest first.
    pub async fn event_kinds(&self) -> Vec<String> {
        use app::backend::entities::security_events;
        use sea_orm::{EntityTrait, QueryOrder};
        security_events::Entity::find()
            .order_by_asc(security_events::Column::Id)
            .all(self.state.db())
            .await
            .expect("events")
            .into_iter()
            .map(|event| event.kind)
            .collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Someone signing up.
#[derive(Clone, Debug)]
pub struct Person {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password: String,
    pub organisation: String,
}

static PEOPLE: AtomicU32 = AtomicU32::new(0);

impl Person {
    pub fn new() -> Self {
        let n = PEOPLE.fetch_add(1, Ordering::SeqCst);
        Person {
            first_name: "Ana".into(),
            last_name: "Lopez".into(),
            email: format!("ana.lopez{n}@example.com"),
            password: "copper kettle on the hill".into(),
            organisation: "Northwind Imports".into(),
        }
    }

    pub fn with_email(mut self, email: &str) -> Self {
        self.email = email.into();
        self
    }
}

/// A cookie-keeping client for one person.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
}

impl Browser {
    /// The `Cookie` header this browser sends, to replay it from elsewhere.
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("base URL");
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    pub async fn sign_up(&self, person: &Person) -> Response {
        self.post_form(
            "/api/sign_up",
            &[
                ("first_name", &person.first_name),
                ("last_name", &person.last_name),
                ("email", &person.email),
                ("password", &person.password),
                ("organisation", &person.organisation),
            ],
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post_form("/api/sign_in", &[("email", email), ("password", password)])
            .await
    }

    pub async fn sign_out(&self) -> Response {
        self.post_form("/api/sign_out", &[]).await
    }

    /// The signed-in person as the server sees them, or `Value::Null`.
    pub async fn current_user(&self) -> Value {
        let response = self.post_form("/api/current_user", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }
}

/// The JSON error a server function answered with.
pub async fn error_body(response: Response) -> Value {
    response.json().await.expect("a JSON error body")
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Runs `count` requests built by `make`, released together once every one is ready, and
/// returns their outcomes in order: how the tests send a burst that really arrives at once.
pub async fn all_at_once<F, T>(count: usize, make: impl Fn(usize) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(count));
    let tasks: Vec<_> = (0..count)
        .map(|n| {
            let request = make(n);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                request.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(count);
    for task in tasks {
        outcomes.push(task.await.expect("request task"));
    }
    outcomes
}
