//! Failed sign-ins per email address.
//!
//! Each failure makes the next attempt wait longer (1 s, 3 s, 5 s, then 10 s); after 100 in a
//! row the address is locked for a day. The counter is keyed by the address typed, whether
//! or not an account uses it, so the waits reveal nothing about which addresses exist. It
//! lives in the database, so every server instance sees the same count. A quiet day resets
//! it, and a successful sign-in clears it.

use super::{
    clock::Timestamp,
    entities::sign_in_throttles::{self, Column, Entity},
    settings::SignInThrottle,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The throttle key for an address: a hash, so typed-in addresses are not stored in clear.
pub fn key_for(email_key: &str) -> String {
    hex::encode(Sha256::digest(email_key.as_bytes()))
}

/// Lets an attempt for this key go ahead, or says how much longer it must wait.
///
/// After a failure, an attempt that may go ahead also books the wait its own failure would
/// earn, with one conditional update on the time it read. Of attempts racing in together,
/// only the one whose update lands gets to the password check; the others wait like any
/// attempt after a failure. A success clears the booking with the rest of the counter.
pub async fn claim_attempt(
    db: &impl ConnectionTrait,
    policy: &SignInThrottle,
    key: &str,
    now: Timestamp,
) -> Result<Option<Duration>, DbErr> {
    let Some(row) = Entity::find_by_id(key.to_owned()).one(db).await? else {
        return Ok(None);
    };
    if row.blocked_until > now {
        return Ok(Some(now.until(row.blocked_until)));
    }
    let stale = row.last_failure_at < now.minus(policy.lock_for);
    let failures = if stale {
        0
    } else {
        u32::try_from(row.failures).unwrap_or(u32::MAX)
    };
    let wait = policy.wait_after(failures.saturating_add(1));
    let booked = Entity::update_many()
        .col_expr(Column::BlockedUntil, Expr::value(now.plus(wait)))
        .filter(Column::Key.eq(key))
        .filter(Column::BlockedUntil.eq(row.blocked_until))
        .exec(db)
        .await?;
    Ok((booked.rows_affected != 1).then_some(wait))
}

/// Counts a failure and starts the wait it earns. Returns the number of failures in a row.
///
/// The increment is one atomic upsert, so parallel failures are each counted.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    policy: &SignInThrottle,
    key: &str,
    now: Timestamp,
) -> Result<u32, DbErr> {
    let stale_before = now.minus(policy.lock_for);
    let table = sign_in_throttles::Entity;
    let fresh_count = Expr::case(
        Expr::col((table, Column::LastFailureAt)).lt(stale_before),
        1,
    )
    .finally(Expr::col((table, Column::Failures)).add(1));

    let row = Entity::insert(sign_in_throttles::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(1),
        last_failure_at: Set(now),
        blocked_until: Set(now),
    })
    .on_conflict(
        OnConflict::column(Column::Key)
            .value(Column::Failures, fresh_count)
            .value(Column::LastFailureAt, now)
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;

    let failures = u32::try_from(row.failures).unwrap_or(0);
    let blocked_until = now.plus(policy.wait_after(failures));
    Entity::update_many()
        .col_expr(Column::BlockedUntil, Expr::value(blocked_until))
        .filter(Column::Key.eq(key))
        .filter(Column::BlockedUntil.lt(blocked_until))
        .exec(db)
        .await?;
    Ok(failures)
}

/// Forgets the failures for a key after a successful sign-in.
pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}

/// Deletes counters nobody has touched for longer than a lock lasts.
pub async fn delete_stale(
    db: &impl ConnectionTrait,
    policy: &SignInThrottle,
    now: Timestamp,
) -> Result<u64, DbErr> {
    let cutoff = now.minus(policy.lock_for);
    let result = Entity::delete_many()
        .filter(Column::LastFailureAt.lt(cutoff))
        .filter(Column::BlockedUntil.lt(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
