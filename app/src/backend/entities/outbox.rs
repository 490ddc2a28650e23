use crate::backend::clock::Timestamp;
use sea_orm::entity::prelude::*;

/// Where a queued message is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum State {
    /// Waiting for `next_attempt_at`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a worker until `claimed_until`.
    #[sea_orm(string_value = "sending")]
    Sending,
    /// Accepted by the relay (or written to the outbox folder).
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Given up on after the last attempt.
    #[sea_orm(string_value = "failed")]
    Failed,
}

/// A message in the mail outbox. See `crate::backend::mail`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    /// Emptied once the message is sent or given up on: bodies carry tokens.
    pub text_body: String,
    pub html_body: String,
    pub created_at: Timestamp,
    /// How many times a worker has claimed the message.
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    pub state: State,
    pub claimed_until: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// Written by hand so that a stray `{:?}` prints neither the address nor the bodies.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
