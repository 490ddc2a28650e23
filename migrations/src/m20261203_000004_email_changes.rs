//! Changing the sign-in address: pending changes waiting for their confirmation link, and
//! the "This wasn't me" links sent to the old address after a change.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailChanges {
    Table,
    Id,
    UserId,
    TokenHash,
    NewEmail,
    NewEmailKey,
    /// Another account already used the address when the change was asked for: the new
    /// address was told so instead of being sent a link, and the change cannot complete.
    AddressTaken,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum EmailReverts {
    Table,
    Id,
    UserId,
    TokenHash,
    OldEmail,
    OldEmailKey,
    NewEmail,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
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
                    .table(EmailChanges::Table)
                    .col(big_pk_auto(EmailChanges::Id))
                    // At most one pending change per person: a new request replaces the old.
                    .col(big_integer_uniq(EmailChanges::UserId))
                    .col(string_uniq(EmailChanges::TokenHash))
                    .col(string(EmailChanges::NewEmail))
                    .col(string(EmailChanges::NewEmailKey))
                    .col(boolean(EmailChanges::AddressTaken))
                    .col(big_integer(EmailChanges::CreatedAt))
                    .col(big_integer(EmailChanges::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_changes_user")
                            .from(EmailChanges::Table, EmailChanges::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailReverts::Table)
                    .col(big_pk_auto(EmailReverts::Id))
                    .col(big_integer(EmailReverts::UserId))
                    .col(string_uniq(EmailReverts::TokenHash))
                    .col(string(EmailReverts::OldEmail))
                    .col(string(EmailReverts::OldEmailKey))
                    .col(string(EmailReverts::NewEmail))
                    .col(big_integer(EmailReverts::CreatedAt))
                    .col(big_integer(EmailReverts::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_reverts_user")
                            .from(EmailReverts::Table, EmailReverts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_reverts_user")
                    .table(EmailReverts::Table)
                    .col(EmailReverts::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(crate::downgrade_refused())
    }
}
