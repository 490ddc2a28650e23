//! The mail outbox: every message the product sends is first a row here, written in the
//! same transaction as the change that caused it, then delivered by a worker that retries
//! until the relay accepts it. An SMTP outage therefore delays mail but loses none.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Recipient,
    Subject,
    TextBody,
    HtmlBody,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    State,
    ClaimedUntil,
    SentAt,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(string(Outbox::Recipient))
                    .col(text(Outbox::Subject))
                    // The bodies carry links with tokens in them: they are emptied as soon
                    // as the message is sent or given up on.
                    .col(text(Outbox::TextBody))
                    .col(text(Outbox::HtmlBody))
                    .col(big_integer(Outbox::CreatedAt))
                    // Counted when a worker claims the message, so a message that crashes
                    // its worker still runs out of attempts.
                    .col(integer(Outbox::Attempts).default(0))
                    .col(big_integer(Outbox::NextAttemptAt))
                    // `pending`, `sending`, `sent` or `failed`.
                    .col(string(Outbox::State))
                    // While `sending`: when the claim lapses and another worker may take it.
                    .col(big_integer_null(Outbox::ClaimedUntil))
                    .col(big_integer_null(Outbox::SentAt))
                    // The relay's answer or the connection error; never any part of a body.
                    .col(text_null(Outbox::LastError))
                    .to_owned(),
            )
            .await?;
        // What the worker asks for: messages in a state, due before a time.
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_state_due")
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(crate::downgrade_refused())
    }
}
