//! Per-client request limits, as fixed-window counters in the database so that
//! every server instance enforces the same budget.

use super::{
    clock::Timestamp,
    entities::rate_limits::{self, Column, Entity},
    settings::RateLimit,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use std::time::Duration;

/// Counts one request against `key` and says whether it is within `limit`. When it is
/// not, returns how long until the window resets (for `Retry-After`).
///
/// One atomic upsert: it either starts a new window or adds to the current one.
pub async fn hit(
    db: &impl ConnectionTrait,
    key: &str,
    limit: RateLimit,
    now: Timestamp,
) -> Result<Result<(), Duration>, DbErr> {
    let table = rate_limits::Entity;
    let window_over = Expr::col((table, Column::WindowStart)).lte(now.minus(limit.window));
    let hits = Expr::case(window_over.clone(), 1).finally(Expr::col((table, Column::Hits)).add(1));
    let window_start =
        Expr::case(window_over, Expr::value(now)).finally(Expr::col((table, Column::WindowStart)));

    let row = Entity::insert(rate_limits::ActiveModel {
        key: Set(key.to_owned()),
        window_start: Set(now),
        hits: Set(1),
    })
    .on_conflict(
        OnConflict::column(Column::Key)
            .value(Column::Hits, hits)
            .value(Column::WindowStart, window_start)
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;

    if u32::try_from(row.hits).unwrap_or(u32::MAX) <= limit.max {
        Ok(Ok(()))
    } else {
        Ok(Err(now
            .until(row.window_start.plus(limit.window))
            .max(Duration::from_secs(1))))
    }
}

/// Deletes windows that ended long ago.
pub async fn delete_stale(
    db: &impl ConnectionTrait,
    older_than: Duration,
    now: Timestamp,
) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::WindowStart.lt(now.minus(older_than)))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
