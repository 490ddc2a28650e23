//! Two-factor authentication: each person's sealed TOTP secret with the last accepted
//! code step and the failure counter, their single-use recovery codes (digests only), and
//! sign-ins that have passed the password but still wait for the second factor.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TwoFactor {
    Table,
    UserId,
    /// The secret, encrypted with the server's key (never stored in clear).
    SealedSecret,
    /// `NULL` while the enrolment waits for its confirming code.
    EnabledAt,
    /// The last 30-second step whose code was accepted; each step is accepted once.
    LastStep,
    Failures,
    LastFailureAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SecondFactorPending,
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
                    .table(TwoFactor::Table)
                    .col(big_integer(TwoFactor::UserId).primary_key())
                    .col(blob(TwoFactor::SealedSecret))
                    .col(big_integer_null(TwoFactor::EnabledAt))
                    .col(big_integer_null(TwoFactor::LastStep))
                    .col(integer(TwoFactor::Failures).default(0))
                    .col(big_integer_null(TwoFactor::LastFailureAt))
                    .col(big_integer(TwoFactor::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_two_factor_user")
                            .from(TwoFactor::Table, TwoFactor::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(big_pk_auto(RecoveryCodes::Id))
                    .col(big_integer(RecoveryCodes::UserId))
                    .col(string(RecoveryCodes::CodeHash))
                    .col(big_integer(RecoveryCodes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_recovery_codes_user")
                            .from(RecoveryCodes::Table, RecoveryCodes::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_codes_user")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(boolean(Sessions::SecondFactorPending).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(crate::downgrade_refused())
    }
}
