use crate::backend::clock::Timestamp;
use sea_orm::entity::prelude::*;

/// Failed sign-ins for one email address, whether or not an account uses it, so that
/// throttling says nothing about which addresses have accounts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_throttles")]
pub struct Model {
    /// SHA-256 of the lower-cased address, so typed-in addresses are not kept in clear.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub failures: i32,
    pub last_failure_at: Timestamp,
    pub blocked_until: Timestamp,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
