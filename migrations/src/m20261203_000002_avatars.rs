//! Profile pictures: one 256x256 JPEG per person, produced by the server from what they
//! uploaded, addressed by the SHA-256 of its bytes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Avatars {
    Table,
    UserId,
    Hash,
    Image,
    UpdatedAt,
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
                    .table(Avatars::Table)
                    // One picture per person: replacing it overwrites the row, so the old
                    // image is gone in the same statement.
                    .col(big_integer(Avatars::UserId).primary_key())
                    .col(string(Avatars::Hash))
                    .col(blob(Avatars::Image))
                    .col(big_integer(Avatars::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_avatars_user")
                            .from(Avatars::Table, Avatars::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_avatars_hash")
                    .table(Avatars::Table)
                    .col(Avatars::Hash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(crate::downgrade_refused())
    }
}
