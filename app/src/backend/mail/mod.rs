//! Mail that is never lost.
//!
//! Feature code never talks to a mail server. It builds the message (usually with
//! [`Letter`], which gives every message the same look and escapes all text), calls
//! [`enqueue`] in the transaction that makes the change the message is about, and calls
//! [`wake`] after that transaction commits:
//!
//! ```ignore
//! let txn = db::begin_write(state.db()).await?;
//! // … the change itself …
//! let email = Letter::new("Confirm your new address")
//!     .paragraph("Someone asked to use this address for their ImportOps account.")
//!     .button("Confirm the change", state.settings().public_url.link(&path))
//!     .into_email(new_address, "Confirm your new address");
//! mail::enqueue(&txn, email, now).await?;
//! txn.commit().await?;
//! mail::wake(&state);
//! ```
//!
//! The message is then a row in the `outbox` table if and only if the change committed. The
//! [`Mailer`] (one task per server instance) claims due rows so that several instances on
//! one database never send the same row at the same time, sends them through the configured
//! [`MailTransport`], and on a passing failure (the relay unreachable, a 4xx reply) tries
//! again after a growing delay ([`Backoff`]) until [`MailSettings::max_attempts`], when it
//! gives up and logs an error. A permanent refusal of the message (a 5xx reply other than
//! to our own credentials) is given up at once.
//!
//! Delivery is at least once, not exactly once: an instance that dies after the relay
//! accepted a message but before recording it leaves a claim that runs out, and the message
//! is sent again. Every copy carries the same `Message-ID`, so clients can tell.
//!
//! Logs name messages by id and subject. The recipient appears only at `debug`; bodies,
//! which carry links with tokens, never appear, and are emptied from the table once a
//! message is sent or given up on.

mod layout;
mod outbox;
mod transport;
mod worker;

pub use layout::{Button, Letter, escape_html};
pub use lettre::message::Mailbox;
pub use outbox::{RETENTION, delete_finished, enqueue};
pub use transport::{DEFAULT_SENDER, MailTransport, SmtpSecurity, SmtpUrl, parse_sender};
pub use worker::{Mailer, MailerHandle};

use super::state::AppState;
use std::{path::PathBuf, time::Duration};

/// The name people see as the sender when the configured address has none, and at the top
/// of every message.
pub const PRODUCT_NAME: &str = "ImportOps";

/// A message to queue. `text` and `html` are the two versions of the same content; see
/// [`Letter`] for building both.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// One address, `ana@example.com` or `Ana Lopez <ana@example.com>`.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Written by hand: the address and the bodies (which carry tokens) stay out of logs.
impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Tells this instance's [`Mailer`] that something was queued, so it is sent now rather than
/// at the next poll. Call it after the commit: before, the worker would not see the row.
/// Cheap, and harmless when no worker runs (the wake-up is kept until one asks).
pub fn wake(state: &AppState) {
    state.mail_wakeup().notify_one();
}

/// How long to wait before the next attempt: `first` after the first failure, doubling
/// after each further failure, never more than `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after `failures` failed attempts (1 or more).
    pub fn delay_after(&self, failures: u32) -> Duration {
        2u32.checked_pow(failures.saturating_sub(1))
            .and_then(|factor| self.first.checked_mul(factor))
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// The mail worker's settings. The server builds them from `IMPORTOPS_SMTP_URL` and
/// `IMPORTOPS_MAIL_FROM`; tests adjust the rest.
#[derive(Clone, Debug)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// The `From` of every message.
    pub from: Mailbox,
    /// Attempts before a message is given up on. The default, with the default backoff,
    /// keeps trying for about a day: an afternoon's relay outage loses nothing.
    pub max_attempts: u32,
    pub retry: Backoff,
    /// How long a claim lasts. A pass claims messages for half a lease and each send may
    /// take [`Self::send_timeout`], so it must be more than twice that; otherwise a slow send
    /// could be taken over by another worker and go out twice.
    pub lease: Duration,
    /// How long one attempt may take, connection included.
    pub send_timeout: Duration,
    /// How often the worker looks for mail queued by other instances and for retries that
    /// have come due.
    pub poll_interval: Duration,
}

impl MailSettings {
    pub fn new(transport: MailTransport, from: Mailbox) -> Self {
        MailSettings {
            transport,
            from,
            max_attempts: 30,
            retry: Backoff {
                first: Duration::from_secs(30),
                max: Duration::from_secs(60 * 60),
            },
            lease: Duration::from_secs(5 * 60),
            send_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(5),
        }
    }

    /// Where mail goes when no SMTP server is configured: `<data dir>/outbox/`.
    pub fn folder_in(data_dir: &std::path::Path) -> MailTransport {
        MailTransport::Folder(PathBuf::from(data_dir).join("outbox"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_an_hour() {
        let settings = MailSettings::new(
            MailTransport::Folder("unused".into()),
            parse_sender(DEFAULT_SENDER).unwrap(),
        );
        let waits: Vec<u64> = (1..=10)
            .map(|n| settings.retry.delay_after(n).as_secs())
            .collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(settings.retry.delay_after(0).as_secs(), 30);
        assert_eq!(settings.retry.delay_after(u32::MAX).as_secs(), 3600);
    }

    #[test]
    fn default_attempts_span_about_a_day() {
        let settings = MailSettings::new(
            MailTransport::Folder("unused".into()),
            parse_sender(DEFAULT_SENDER).unwrap(),
        );
        let total: Duration = (1..settings.max_attempts)
            .map(|n| settings.retry.delay_after(n))
            .sum();
        let hours = total.as_secs() / 3600;
        assert!((20..=30).contains(&hours), "{hours} hours");
        assert!(settings.lease > settings.send_timeout * 2);
    }

    #[test]
    fn emails_do_not_print_addresses_or_bodies() {
        let email = Email {
            to: "ana@example.com".into(),
            subject: "Confirm".into(),
            text: "token abc".into(),
            html: "<a href=\"x?token=abc\">".into(),
        };
        let shown = format!("{email:?}");
        assert!(!shown.contains("ana@") && !shown.contains("abc"), "{shown}");
    }
}
