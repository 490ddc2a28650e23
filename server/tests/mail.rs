//! Mail is queued with the change that causes it and delivered by the worker through a real
//! SMTP conversation (with the sink in `support::smtp`), on SQLite and PostgreSQL: nothing
//! is sent for a change that rolls back, an outage delays mail without losing or doubling
//! it, competing workers send each message once, and logs never carry the recipient above
//! `debug` nor any part of a body.

mod support;

use app::backend::{
    clock::{Clock, Timestamp},
    db::{self, ConnectSettings},
    entities::outbox::{self, State},
    mail::{self, Email, Letter, MailTransport, Mailer, SmtpUrl},
    maintenance,
    secret_key::SecretKey,
    state::AppState,
};
use sea_orm::{EntityTrait, QueryOrder, Set};
use serde_json::Value;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use support::{TestApp, smtp::Received};
use tracing::instrument::WithSubscriber;
use tracing_subscriber::fmt::MakeWriter;

db_tests!(
    mail_queued_in_a_rolled_back_transaction_is_never_sent,
    committed_mail_arrives_with_both_parts_from_the_configured_sender,
    mail_queued_during_an_outage_arrives_once_after_the_backoff,
    competing_workers_send_each_message_once,
    mail_that_keeps_failing_is_given_up_after_the_configured_attempts,
    mail_the_relay_refuses_for_good_is_given_up_at_once,
    a_claim_left_by_a_stopped_worker_is_taken_over_when_its_lease_ends,
    the_running_worker_sends_as_soon_as_it_is_woken,
    without_smtp_mail_becomes_eml_files_and_the_log_names_only_the_file,
);

/// A message whose link carries a token, like the real ones.
fn email(n: usize) -> Email {
    Letter::new(format!("Confirm change {n}"))
        .paragraph("Someone asked to use this address with <Northwind & Co>.")
        .button(
            "Confirm the change",
            format!("https://importops.test/confirm?token=tok{n}secret"),
        )
        .into_email(format!("person{n}@example.com"), format!("Message {n}"))
}

/// Queues in one committed transaction, then wakes the worker, as feature code does.
async fn queue(app: &TestApp, emails: impl IntoIterator<Item = Email>) {
    let txn = db::begin_write(app.state.db()).await.expect("begin");
    for email in emails {
        mail::enqueue(&txn, email, app.clock.now())
            .await
            .expect("enqueue");
    }
    txn.commit().await.expect("commit");
    mail::wake(&app.state);
}

async fn rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .all(app.state.db())
        .await
        .expect("outbox rows")
}

fn subjects(messages: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in messages {
        *counts
            .entry(message.header("Subject").expect("a subject"))
            .or_default() += 1;
    }
    counts
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

async fn mail_queued_in_a_rolled_back_transaction_is_never_sent(app: TestApp) {
    let txn = db::begin_write(app.state.db()).await.unwrap();
    mail::enqueue(&txn, email(1), app.clock.now())
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    mail::wake(&app.state);

    assert_eq!(app.deliver_mail().await, 0);
    assert_eq!(app.count("outbox").await, 0);
    assert!(app.smtp.messages().is_empty());
    assert_eq!(
        app.smtp.connections(),
        0,
        "the relay was not even contacted"
    );

    // A recipient that cannot be delivered to is refused when queued, not retried for a day.
    let txn = db::begin_write(app.state.db()).await.unwrap();
    let bad = Email {
        to: "person@example.com\r\nBcc: x@example.com".into(),
        ..email(2)
    };
    assert!(mail::enqueue(&txn, bad, app.clock.now()).await.is_err());
}

async fn committed_mail_arrives_with_both_parts_from_the_configured_sender(app: TestApp) {
    let sent_at = app.clock.now();
    queue(&app, [email(1)]).await;

    assert_eq!(app.deliver_mail().await, 1);
    let messages = app.smtp.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];

    assert_eq!(message.mail_from, "no-reply@importops.test");
    assert_eq!(message.rcpt_to, ["person1@example.com"]);
    let from = message.header("From").expect("From");
    assert!(
        from.contains("ImportOps") && from.contains("<no-reply@importops.test>"),
        "{from}"
    );
    assert_eq!(message.header("To").as_deref(), Some("person1@example.com"));
    assert_eq!(message.header("Subject").as_deref(), Some("Message 1"));
    let message_id = message.header("Message-ID").expect("Message-ID");
    assert!(message_id.ends_with("@importops.test>"), "{message_id}");
    let content_type = message.header("Content-Type").expect("Content-Type");
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );

    let text = message.part("text/plain").expect("a text part");
    assert!(text.contains("Confirm change 1"), "{text}");
    assert!(text.contains("with <Northwind & Co>."), "{text}");
    assert!(
        text.contains("https://importops.test/confirm?token=tok1secret"),
        "{text}"
    );
    let html = message.part("text/html").expect("an HTML part");
    assert!(html.contains("with &lt;Northwind &amp; Co&gt;."), "{html}");
    assert!(
        html.contains("href=\"https://importops.test/confirm?token=tok1secret\""),
        "{html}"
    );

    let [row] = rows(&app).await.try_into().expect("one row");
    assert_eq!(row.state, State::Sent);
    assert_eq!(row.sent_at, Some(sent_at));
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error, None);
    assert!(
        row.text_body.is_empty() && row.html_body.is_empty(),
        "sent bodies (and their tokens) are not kept"
    );

    assert_eq!(app.deliver_mail().await, 0);
    assert_eq!(app.smtp.messages().len(), 1);

    // Sent messages are kept, without bodies, for a month.
    app.clock.advance(mail::RETENTION - secs(1));
    maintenance::run_once(&app.state).await.unwrap();
    assert_eq!(app.count("outbox").await, 1);
    app.clock.advance(secs(2));
    maintenance::run_once(&app.state).await.unwrap();
    assert_eq!(app.count("outbox").await, 0);
}

async fn mail_queued_during_an_outage_arrives_once_after_the_backoff(app: TestApp) {
    app.smtp.take_down();
    let queued_at = app.clock.now();
    queue(&app, (1..=3).map(email)).await;

    assert_eq!(app.deliver_mail().await, 3, "each message was tried");
    assert!(app.smtp.messages().is_empty());
    assert!(app.smtp.connections() >= 3);
    for row in rows(&app).await {
        assert_eq!(row.state, State::Pending);
        assert_eq!(row.attempts, 1);
        assert_eq!(row.next_attempt_at, queued_at.plus(secs(30)));
        let error = row.last_error.expect("the failure is recorded");
        assert!(
            !error.contains("person") && !error.contains("tok"),
            "{error}"
        );
    }
    assert_eq!(
        app.deliver_mail().await,
        0,
        "nothing is due before the backoff"
    );

    app.smtp.bring_up();
    app.clock.advance(secs(29));
    assert_eq!(app.deliver_mail().await, 0);
    assert!(app.smtp.messages().is_empty());

    app.clock.advance(secs(1));
    assert_eq!(app.deliver_mail().await, 3);
    app.clock.advance(secs(2 * 3600));
    assert_eq!(app.deliver_mail().await, 0);

    let messages = app.smtp.messages();
    assert_eq!(
        subjects(&messages),
        BTreeMap::from([
            ("Message 1".to_owned(), 1),
            ("Message 2".to_owned(), 1),
            ("Message 3".to_owned(), 1),
        ])
    );
    for row in rows(&app).await {
        assert_eq!((row.state, row.attempts), (State::Sent, 2));
        assert_eq!(row.sent_at, Some(queued_at.plus(secs(30))));
    }
}

async fn competing_workers_send_each_message_once(app: TestApp) {
    const MESSAGES: usize = 40;
    queue(&app, (1..=MESSAGES).map(email)).await;

    // Two workers in this instance, and one in "another instance" with its own pool.
    let other_db = db::connect(ConnectSettings {
        url: &app.database.url,
        max_connections: 4,
        schema: None,
    })
    .await
    .expect("a second pool");
    let other_state = AppState::new(
        other_db,
        app.state.settings().clone(),
        app.clock.clone(),
        SecretKey::generate(),
    );
    let workers = [
        app.mailer_with(|_| {}),
        app.mailer_with(|_| {}),
        Mailer::new(other_state, app.mail.clone()).expect("mailer"),
    ];

    let now = app.clock.now();
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|worker| tokio::spawn(async move { worker.deliver_due(now).await }))
        .collect();
    let mut handled = 0;
    for task in tasks {
        handled += task.await.expect("worker task").expect("delivery");
    }

    assert_eq!(handled, MESSAGES);
    let messages = app.smtp.messages();
    assert_eq!(messages.len(), MESSAGES);
    assert!(subjects(&messages).values().all(|&n| n == 1));
    for row in rows(&app).await {
        assert_eq!(
            (row.state, row.attempts),
            (State::Sent, 1),
            "message {} was claimed once",
            row.id
        );
    }
}

async fn mail_that_keeps_failing_is_given_up_after_the_configured_attempts(app: TestApp) {
    app.smtp.take_down();
    let mailer = app.mailer_with(|settings| settings.max_attempts = 3);
    queue(&app, [email(7)]).await;
    let logs = Captured::default();

    let deliver = |at: Timestamp| mailer.deliver_due(at).with_subscriber(logs.subscriber());
    assert_eq!(deliver(app.clock.now()).await.unwrap(), 1);
    let [row] = rows(&app).await.try_into().unwrap();
    assert_eq!((row.state, row.attempts), (State::Pending, 1));
    assert_eq!(row.next_attempt_at, app.clock.now().plus(secs(30)));

    app.clock.advance(secs(30));
    assert_eq!(deliver(app.clock.now()).await.unwrap(), 1);
    let [row] = rows(&app).await.try_into().unwrap();
    assert_eq!((row.state, row.attempts), (State::Pending, 2));
    assert_eq!(row.next_attempt_at, app.clock.now().plus(secs(60)));

    app.clock.advance(secs(60));
    assert_eq!(deliver(app.clock.now()).await.unwrap(), 1);
    let [row] = rows(&app).await.try_into().unwrap();
    assert_eq!((row.state, row.attempts), (State::Failed, 3));
    assert!(row.last_error.is_some());
    assert!(row.text_body.is_empty() && row.html_body.is_empty());

    app.clock.advance(secs(24 * 3600));
    assert_eq!(
        deliver(app.clock.now()).await.unwrap(),
        0,
        "given up for good"
    );
    app.smtp.bring_up();
    assert_eq!(deliver(app.clock.now()).await.unwrap(), 0);
    assert!(app.smtp.messages().is_empty());

    let lines = logs.lines();
    let at =
        |level: &str| -> Vec<&Value> { lines.iter().filter(|l| l["level"] == level).collect() };
    let retries = at("WARN");
    assert_eq!(retries.len(), 2, "{lines:#?}");
    for line in &retries {
        assert_eq!(line["fields"]["message"], "mail not sent; will retry");
        assert_eq!(line["fields"]["message_id"], row.id);
        assert_eq!(line["fields"]["subject"], "Message 7");
    }
    let [given_up] = at("ERROR").try_into().expect("one error line");
    assert_eq!(given_up["fields"]["message"], "mail not sent; giving up");
    assert_eq!(given_up["fields"]["attempts"], 3);
    logs.assert_private("person7@example.com", "tok7secret");

    let failed_at = row.next_attempt_at;
    app.clock.set(failed_at.plus(mail::RETENTION));
    assert_eq!(
        mail::delete_finished(app.state.db(), app.clock.now())
            .await
            .unwrap(),
        0
    );
    app.clock.set(failed_at.plus(mail::RETENTION + secs(1)));
    assert_eq!(
        mail::delete_finished(app.state.db(), app.clock.now())
            .await
            .unwrap(),
        1
    );
}

async fn mail_the_relay_refuses_for_good_is_given_up_at_once(app: TestApp) {
    let relay = RefusingRelay::start("550 5.1.1 <person8@example.com>: no such mailbox").await;
    let mailer = app.mailer_with(|settings| settings.transport = relay.transport());
    queue(&app, [email(8)]).await;
    let logs = Captured::default();

    let deliver = |at: Timestamp| mailer.deliver_due(at).with_subscriber(logs.subscriber());
    assert_eq!(deliver(app.clock.now()).await.unwrap(), 1);
    let [row] = rows(&app).await.try_into().unwrap();
    assert_eq!((row.state, row.attempts), (State::Failed, 1));
    let cause = row.last_error.clone().unwrap_or_default();
    assert!(cause.contains("550"), "{cause}");
    assert!(!cause.contains("person8@"), "{cause}");
    assert!(row.text_body.is_empty() && row.html_body.is_empty());
    app.clock.advance(secs(24 * 3600));
    assert_eq!(
        deliver(app.clock.now()).await.unwrap(),
        0,
        "never tried again"
    );

    let lines = logs.lines();
    assert!(lines.iter().all(|l| l["level"] != "WARN"), "{lines:#?}");
    let errors: Vec<_> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    let [given_up] = errors.try_into().expect("one error line");
    assert_eq!(given_up["fields"]["message"], "mail not sent; giving up");
    assert_eq!(given_up["fields"]["message_id"], row.id);
    logs.assert_private("person8@example.com", "tok8secret");

    // A refused login says nothing about the message: once the credentials are fixed it
    // must still go, so it waits for another attempt.
    let relay = RefusingRelay::start("530 5.7.0 Authentication required").await;
    let mailer = app.mailer_with(|settings| settings.transport = relay.transport());
    queue(&app, [email(9)]).await;
    assert_eq!(mailer.deliver_due(app.clock.now()).await.unwrap(), 1);
    let row = rows(&app).await.pop().unwrap();
    assert_eq!((row.state, row.attempts), (State::Pending, 1));
}

async fn a_claim_left_by_a_stopped_worker_is_taken_over_when_its_lease_ends(app: TestApp) {
    queue(&app, [email(1)]).await;
    // A worker claimed the message and died before sending it.
    let lease = app.mail.lease;
    outbox::Entity::update_many()
        .set(outbox::ActiveModel {
            state: Set(State::Sending),
            attempts: Set(1),
            claimed_until: Set(Some(app.clock.now().plus(lease))),
            ..Default::default()
        })
        .exec(app.state.db())
        .await
        .unwrap();

    assert_eq!(app.deliver_mail().await, 0, "the claim still holds");
    app.clock.advance(lease - secs(1));
    assert_eq!(app.deliver_mail().await, 0);
    app.clock.advance(secs(1));
    assert_eq!(app.deliver_mail().await, 1);

    assert_eq!(app.smtp.messages().len(), 1);
    let [row] = rows(&app).await.try_into().unwrap();
    assert_eq!((row.state, row.attempts), (State::Sent, 2));
}

async fn the_running_worker_sends_as_soon_as_it_is_woken(app: TestApp) {
    // Polling once an hour: only the wake-up can explain a prompt delivery.
    let worker = app
        .mailer_with(|settings| settings.poll_interval = secs(3600))
        .start();
    // Let the first pass (for mail left from before a start) find nothing and the worker
    // settle into waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;

    queue(&app, [email(1)]).await;
    app.smtp.wait_for(1, secs(10)).await;
    queue(&app, [email(2)]).await;
    app.smtp.wait_for(2, secs(10)).await;

    worker.shutdown(secs(5)).await;
    queue(&app, [email(3)]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.smtp.messages().len(),
        2,
        "a stopped worker sends nothing"
    );
    let pending = rows(&app).await;
    assert_eq!(pending.last().map(|row| row.state), Some(State::Pending));
}

async fn without_smtp_mail_becomes_eml_files_and_the_log_names_only_the_file(app: TestApp) {
    let data_dir = tempfile::tempdir().unwrap();
    let folder = data_dir.path().join("outbox");
    let mailer = app.mailer_with(|settings| {
        settings.transport = MailTransport::Folder(folder.clone());
    });
    queue(&app, [email(5)]).await;
    let logs = Captured::default();

    let handled = mailer
        .deliver_due(app.clock.now())
        .with_subscriber(logs.subscriber())
        .await
        .unwrap();
    assert_eq!(handled, 1);

    let files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    let [file] = files.try_into().expect("one file");
    assert_eq!(file.extension().and_then(|e| e.to_str()), Some("eml"));
    let written = Received {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: std::fs::read_to_string(&file).unwrap(),
    };
    assert_eq!(written.header("Subject").as_deref(), Some("Message 5"));
    assert_eq!(written.header("To").as_deref(), Some("person5@example.com"));
    assert!(
        written
            .part("text/plain")
            .expect("a text part")
            .contains("https://importops.test/confirm?token=tok5secret")
    );
    assert!(written.part("text/html").is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "only the owner may read the messages");
    }

    let lines = logs.lines();
    let written_lines: Vec<_> = lines
        .iter()
        .filter(|line| line["level"] == "INFO")
        .collect();
    let [line] = written_lines.try_into().expect("one INFO line");
    assert_eq!(line["fields"]["file"], file.display().to_string());
    assert_eq!(line["fields"]["subject"], "Message 5");
    logs.assert_private("person5@example.com", "tok5secret");

    let [row] = rows(&app).await.try_into().unwrap();
    assert_eq!(row.state, State::Sent);
}

/// A relay that greets, then answers every `RCPT TO` with one fixed reply. (The shared sink
/// accepts every recipient.)
struct RefusingRelay {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl RefusingRelay {
    async fn start(rcpt_reply: &'static str) -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (reader, mut writer) = stream.into_split();
                    let mut lines = BufReader::new(reader).lines();
                    let _ = writer.write_all(b"220 refusing relay\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                        let reply = match verb.as_str() {
                            "EHLO" => "250-refusing relay\r\n250 8BITMIME".to_owned(),
                            "RCPT" => rcpt_reply.to_owned(),
                            "QUIT" => "221 bye".to_owned(),
                            "MAIL" | "RSET" | "NOOP" | "HELO" => "250 OK".to_owned(),
                            _ => "502 not implemented".to_owned(),
                        };
                        if writer
                            .write_all(format!("{reply}\r\n").as_bytes())
                            .await
                            .is_err()
                            || verb == "QUIT"
                        {
                            break;
                        }
                    }
                });
            }
        });
        RefusingRelay { port, task }
    }

    fn transport(&self) -> MailTransport {
        let url = format!("smtp://127.0.0.1:{}?tls=none", self.port);
        MailTransport::Smtp(SmtpUrl::parse(&url).unwrap())
    }
}

impl Drop for RefusingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Log lines written while a future runs, as JSON objects.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(self.clone())
            .finish()
    }

    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8(bytes)
            .expect("UTF-8 logs")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON log line"))
            .collect()
    }

    /// The recipient appears at `debug` at most, and the token never.
    fn assert_private(&self, recipient: &str, token: &str) {
        for line in self.lines() {
            let text = line.to_string();
            assert!(!text.contains(token), "a token was logged: {text}");
            if !matches!(line["level"].as_str(), Some("DEBUG" | "TRACE")) {
                assert!(
                    !text.contains(recipient),
                    "the recipient was logged: {text}"
                );
            }
        }
    }
}

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
