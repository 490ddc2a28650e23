//! The worker that empties the outbox: one per server instance, as a tokio task.

use super::{
    MailSettings, outbox,
    transport::{Delivered, NotSent, Outgoing, compose},
};
use crate::backend::{clock::Timestamp, entities::outbox::Model as Queued, state::AppState};
use sea_orm::DbErr;
use std::{sync::Arc, time::Duration};
use tokio::{sync::watch, task::JoinHandle};

/// Sends what is in the outbox. Tests call [`Mailer::deliver_due`] with a pinned clock; the
/// server calls [`Mailer::start`], which runs the same passes in a loop.
pub struct Mailer {
    state: AppState,
    settings: MailSettings,
    outgoing: Outgoing,
}

/// Why an attempt did not deliver.
enum Failure {
    /// Worth another attempt (the relay is down, busy or refused for now).
    Retry(String),
    /// No attempt can succeed.
    Final(String),
}

impl Mailer {
    /// Prepares the transport (see [`MailSettings::transport`]); for the folder transport
    /// this creates the folder.
    pub fn new(state: AppState, settings: MailSettings) -> Result<Self, String> {
        if settings.lease <= settings.send_timeout * 2 {
            return Err("the mail lease must be more than twice the send timeout".into());
        }
        let outgoing = Outgoing::open(&settings.transport, settings.send_timeout)?;
        Ok(Mailer {
            state,
            settings,
            outgoing,
        })
    }

    pub fn settings(&self) -> &MailSettings {
        &self.settings
    }

    /// Works through every message due at `now` once: sends it, or schedules its next
    /// attempt, or gives up on it. Returns how many messages it handled.
    ///
    /// A pass stops claiming once half a lease has gone by in real time, so a claim never
    /// starts with its lease nearly over; whatever is left is due for the next pass.
    pub async fn deliver_due(&self, now: Timestamp) -> Result<usize, DbErr> {
        self.deliver(now, &|| false).await
    }

    async fn deliver(
        &self,
        now: Timestamp,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<usize, DbErr> {
        let started = std::time::Instant::now();
        let budget = self.settings.lease / 2;
        let mut handled = 0;
        while !stop() && started.elapsed() < budget {
            let lease_until = now.plus(self.settings.lease);
            let Some(message) = outbox::claim_next(self.state.db(), now, lease_until).await? else {
                break;
            };
            self.attempt(&message, now).await?;
            handled += 1;
        }
        Ok(handled)
    }

    /// One attempt at one claimed message, and its outcome recorded.
    async fn attempt(&self, message: &Queued, now: Timestamp) -> Result<(), DbErr> {
        let attempt = u32::try_from(message.attempts).unwrap_or(u32::MAX);
        let max_attempts = self.settings.max_attempts.max(1);
        tracing::debug!(
            message_id = message.id,
            recipient = %message.recipient,
            attempt,
            "sending mail"
        );

        let result = if attempt > max_attempts {
            // Claimed again after a lease ran out, with no attempts left: the worker of the
            // last attempt stopped before recording how it went.
            Err(Failure::Final(
                "the last attempt never finished (its worker stopped)".into(),
            ))
        } else {
            self.send(message, now).await
        };

        let db = self.state.db();
        let recorded = match result {
            Ok(delivered) => {
                let recorded = outbox::mark_sent(db, message, now).await?;
                match delivered {
                    Delivered::Relayed => tracing::info!(
                        message_id = message.id,
                        subject = %message.subject,
                        attempt,
                        "mail sent"
                    ),
                    Delivered::Written(file) => tracing::info!(
                        message_id = message.id,
                        subject = %message.subject,
                        file = %file.display(),
                        "mail written to a file, as no SMTP server is configured: open it to \
                         read the message"
                    ),
                }
                recorded
            }
            Err(Failure::Retry(cause)) if attempt < max_attempts => {
                let delay = self.settings.retry.delay_after(attempt);
                let recorded = outbox::mark_retry(db, message, now.plus(delay), &cause).await?;
                tracing::warn!(
                    message_id = message.id,
                    subject = %message.subject,
                    attempt,
                    retry_in_seconds = delay.as_secs(),
                    cause = %cause,
                    "mail not sent; will retry"
                );
                recorded
            }
            Err(Failure::Retry(cause) | Failure::Final(cause)) => {
                let recorded = outbox::mark_failed(db, message, now, &cause).await?;
                tracing::error!(
                    message_id = message.id,
                    subject = %message.subject,
                    attempts = attempt,
                    cause = %cause,
                    "mail not sent; giving up"
                );
                recorded
            }
        };
        if !recorded {
            tracing::warn!(
                message_id = message.id,
                "the claim on this message ran out before its outcome was recorded; another \
                 worker has taken it over, so it may go out twice"
            );
        }
        Ok(())
    }

    async fn send(&self, message: &Queued, now: Timestamp) -> Result<Delivered, Failure> {
        let email = compose(message, &self.settings.from, now).map_err(Failure::Final)?;
        let timeout = self.settings.send_timeout;
        match tokio::time::timeout(timeout, self.outgoing.send(email)).await {
            Ok(Ok(delivered)) => Ok(delivered),
            Ok(Err(NotSent {
                permanent: true,
                cause,
            })) => Err(Failure::Final(cause)),
            Ok(Err(NotSent { cause, .. })) => Err(Failure::Retry(cause)),
            Err(_) => Err(Failure::Retry(format!(
                "no answer within {} seconds",
                timeout.as_secs()
            ))),
        }
    }

    /// Runs the worker as a task until [`MailerHandle::shutdown`]: a pass at once (for mail
    /// left from before a restart), then one whenever this instance queues mail
    /// ([`super::wake`]) and at least every [`MailSettings::poll_interval`], for mail queued
    /// by other instances and retries that have come due.
    pub fn start(self) -> MailerHandle {
        let (stop, stopped) = watch::channel(false);
        tracing::info!(transport = %self.settings.transport, "mail worker started");
        let task = tokio::spawn(self.run(stopped));
        MailerHandle { stop, task }
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let wakeup = Arc::clone(self.state.mail_wakeup());
        loop {
            let now = self.state.clock().now();
            let handled = match self.deliver(now, &|| *stop.borrow()).await {
                Ok(handled) => handled,
                Err(error) => {
                    tracing::warn!(cause = %error, "mail delivery pass failed; will retry");
                    0
                }
            };
            if *stop.borrow() {
                break;
            }
            if handled > 0 {
                // The pass may have stopped on its time budget with more still due.
                continue;
            }
            tokio::select! {
                _ = stop.changed() => break,
                () = wakeup.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        self.outgoing.shutdown().await;
        tracing::debug!("mail worker stopped");
    }
}

/// The running worker.
pub struct MailerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MailerHandle {
    /// Stops the worker once the message in hand is done, waiting at most `grace`. A message
    /// still being sent after that keeps its claim until the lease runs out; then another
    /// instance, or this one after a restart, sends it again.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
            tracing::warn!(
                "the mail worker did not stop in time; the message it was sending will be \
                 tried again when its claim runs out"
            );
        }
    }
}
