//! Organisations, their users, sign-in sessions, the security event log, and the counters
//! behind sign-in throttling and per-client rate limits.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Name,
    RequireTwoFactor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    OrganisationId,
    Role,
    FirstName,
    LastName,
    Email,
    EmailKey,
    PasswordHash,
    PasswordChangedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    AuthenticatedAt,
    Ip,
    UserAgent,
}

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Id,
    UserId,
    OrganisationId,
    Kind,
    Ip,
    UserAgent,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SignInThrottles {
    Table,
    Key,
    Failures,
    LastFailureAt,
    BlockedUntil,
}

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    Key,
    WindowStart,
    Hits,
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
                    .table(Organisations::Table)
                    .col(big_pk_auto(Organisations::Id))
                    .col(string(Organisations::Name))
                    .col(boolean(Organisations::RequireTwoFactor).default(false))
                    .col(big_integer(Organisations::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(big_integer(Users::OrganisationId))
                    .col(string(Users::Role))
                    .col(string(Users::FirstName))
                    .col(string(Users::LastName))
                    .col(string(Users::Email))
                    // The address folded to lower case; uniqueness is enforced here so that
                    // "Ana@Example.com" and "ana@example.com" can never be two accounts.
                    .col(string_uniq(Users::EmailKey))
                    .col(string(Users::PasswordHash))
                    .col(big_integer(Users::PasswordChangedAt))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_organisation")
                            .from(Users::Table, Users::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_organisation")
                    .table(Users::Table)
                    .col(Users::OrganisationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(big_pk_auto(Sessions::Id))
                    .col(big_integer(Sessions::UserId))
                    // SHA-256 of the cookie's token, hex encoded; the token itself is never
                    // stored, so a copy of the database cannot be used to sign in.
                    .col(string_uniq(Sessions::TokenHash))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::LastSeenAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .col(big_integer(Sessions::AuthenticatedAt))
                    .col(string_null(Sessions::Ip))
                    .col(string_null(Sessions::UserAgent))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(big_pk_auto(SecurityEvents::Id))
                    .col(big_integer_null(SecurityEvents::UserId))
                    .col(big_integer_null(SecurityEvents::OrganisationId))
                    .col(string(SecurityEvents::Kind))
                    .col(string_null(SecurityEvents::Ip))
                    .col(string_null(SecurityEvents::UserAgent))
                    .col(text_null(SecurityEvents::Detail))
                    .col(big_integer(SecurityEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_security_events_user")
                            .from(SecurityEvents::Table, SecurityEvents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_security_events_user_time")
                    .table(SecurityEvents::Table)
                    .col(SecurityEvents::UserId)
                    .col(SecurityEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SignInThrottles::Table)
                    .col(string(SignInThrottles::Key).primary_key())
                    .col(integer(SignInThrottles::Failures))
                    .col(big_integer(SignInThrottles::LastFailureAt))
                    .col(big_integer(SignInThrottles::BlockedUntil))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RateLimits::Table)
                    .col(string(RateLimits::Key).primary_key())
                    .col(big_integer(RateLimits::WindowStart))
                    .col(integer(RateLimits::Hits))
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(crate::downgrade_refused())
    }
}
