use crate::backend::clock::Timestamp;
use sea_orm::entity::prelude::*;

/// The "This wasn't me" link sent to the old address after a change: for a week it puts
/// the old address back and signs out every session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_reverts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub old_email: String,
    pub old_email_key: String,
    pub new_email: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
