use crate::backend::clock::Timestamp;
use sea_orm::entity::prelude::*;

/// A requested change of sign-in address, waiting for the link mailed to the new address.
/// Holds only the SHA-256 of the link's token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub user_id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub new_email: String,
    pub new_email_key: String,
    /// The address belonged to another account when the change was asked for; the new
    /// address was told so instead of getting a link, and the change cannot complete.
    pub address_taken: bool,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
