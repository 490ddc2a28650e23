//! The outbox table: queueing, claiming and recording the outcome of each attempt.
//!
//! Claiming is one `UPDATE … RETURNING` that picks the oldest due message and marks it as
//! being sent until a lease ends. On PostgreSQL the inner `SELECT … FOR UPDATE SKIP LOCKED`
//! makes concurrent workers pass over a row another worker is claiming instead of waiting
//! for it, so each claim gets a different message. SQLite has no row locks: the statement
//! runs in a `BEGIN IMMEDIATE` transaction, which holds the database's single write lock,
//! so claims from every connection and process happen one after the other.
//!
//! A message is "due" when it is pending and its next attempt time has come, or when it is
//! being sent but its lease has run out (the worker holding it stopped or crashed). Each
//! claim adds one to `attempts`, and the outcome is only recorded if `attempts` is still the
//! value this claim set: a worker whose lease ran out cannot overwrite a newer claim.

use super::{Email, transport::valid_recipient};
use crate::backend::{
    clock::Timestamp,
    db,
    entities::outbox::{self, Column, Entity, State},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, Set, Statement, sea_query::ExprTrait,
};
use std::time::Duration;

/// Queues a message in the caller's transaction, so it is sent if and only if the change
/// that caused it commits. Call [`super::wake`] after the commit to send it at once.
///
/// Refuses (without writing) a recipient that is not a single valid address: such a
/// message could never be delivered.
pub async fn enqueue(db: &impl ConnectionTrait, email: Email, now: Timestamp) -> Result<(), DbErr> {
    if !valid_recipient(&email.to) {
        return Err(DbErr::Custom(
            "cannot queue mail: the recipient is not a valid address".into(),
        ));
    }
    let subject = email.subject.clone();
    let queued = outbox::ActiveModel {
        recipient: Set(email.to),
        subject: Set(email.subject),
        text_body: Set(email.text),
        html_body: Set(email.html),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        state: Set(State::Pending),
        claimed_until: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tracing::debug!(message_id = queued.id, subject = %subject, "mail queued");
    Ok(())
}

/// Claims the oldest due message until `lease_until`, or returns `None` when nothing is due.
pub(super) async fn claim_next(
    db: &DatabaseConnection,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Option<outbox::Model>, DbErr> {
    let backend = db.get_database_backend();
    let (placeholder_lease, placeholder_now, lock) = match backend {
        DbBackend::Postgres => ("$1", "$2", "FOR UPDATE SKIP LOCKED"),
        _ => ("?1", "?2", ""),
    };
    let sql = format!(
        "UPDATE outbox \
         SET state = 'sending', claimed_until = {placeholder_lease}, attempts = attempts + 1 \
         WHERE id = (\
             SELECT id FROM outbox \
             WHERE (state = 'pending' AND next_attempt_at <= {placeholder_now}) \
                OR (state = 'sending' AND claimed_until <= {placeholder_now}) \
             ORDER BY next_attempt_at, id \
             LIMIT 1 {lock}\
         ) \
         RETURNING id, recipient, subject, text_body, html_body, created_at, attempts, \
                   next_attempt_at, state, claimed_until, sent_at, last_error"
    );
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [lease_until.as_millis().into(), now.as_millis().into()],
    );
    let claim = Entity::find().from_raw_sql(statement);

    if backend == DbBackend::Sqlite {
        let txn = db::begin_write(db).await?;
        let claimed = claim.one(&txn).await?;
        txn.commit().await?;
        Ok(claimed)
    } else {
        // On its own the statement is a transaction, and it holds the row lock only for
        // as long as it runs.
        claim.one(db).await
    }
}

/// The rows this claim still owns.
fn claimed(id: i64, attempts: i32) -> sea_orm::UpdateMany<Entity> {
    Entity::update_many()
        .filter(Column::Id.eq(id))
        .filter(Column::State.eq(State::Sending))
        .filter(Column::Attempts.eq(attempts))
}

/// Records a delivery and forgets the bodies (they hold links with tokens). Returns `false`
/// when the claim had already run out and another worker holds the message.
pub(super) async fn mark_sent(
    db: &impl ConnectionTrait,
    message: &outbox::Model,
    now: Timestamp,
) -> Result<bool, DbErr> {
    let result = claimed(message.id, message.attempts)
        .set(outbox::ActiveModel {
            state: Set(State::Sent),
            sent_at: Set(Some(now)),
            claimed_until: Set(None),
            last_error: Set(None),
            text_body: Set(String::new()),
            html_body: Set(String::new()),
            ..Default::default()
        })
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Puts a message back in the queue for another attempt at `next_attempt_at`.
pub(super) async fn mark_retry(
    db: &impl ConnectionTrait,
    message: &outbox::Model,
    next_attempt_at: Timestamp,
    error: &str,
) -> Result<bool, DbErr> {
    let result = claimed(message.id, message.attempts)
        .set(outbox::ActiveModel {
            state: Set(State::Pending),
            next_attempt_at: Set(next_attempt_at),
            claimed_until: Set(None),
            last_error: Set(Some(error.to_owned())),
            ..Default::default()
        })
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Gives up on a message. Its bodies are forgotten too; the row stays, with the last
/// error, for operators until it is swept.
pub(super) async fn mark_failed(
    db: &impl ConnectionTrait,
    message: &outbox::Model,
    now: Timestamp,
    error: &str,
) -> Result<bool, DbErr> {
    let result = claimed(message.id, message.attempts)
        .set(outbox::ActiveModel {
            state: Set(State::Failed),
            next_attempt_at: Set(now),
            claimed_until: Set(None),
            last_error: Set(Some(error.to_owned())),
            text_body: Set(String::new()),
            html_body: Set(String::new()),
            ..Default::default()
        })
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// How long sent and failed messages stay in the outbox (without their bodies), for
/// operators checking what went out.
pub const RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Deletes sent and failed messages older than [`RETENTION`].
pub async fn delete_finished(db: &impl ConnectionTrait, now: Timestamp) -> Result<u64, DbErr> {
    let before = now.minus(RETENTION);
    let sent_long_ago = Column::State.eq(State::Sent).and(Column::SentAt.lt(before));
    let failed_long_ago = Column::State
        .eq(State::Failed)
        .and(Column::NextAttemptAt.lt(before));
    let result = Entity::delete_many()
        .filter(sent_long_ago.or(failed_long_ago))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
