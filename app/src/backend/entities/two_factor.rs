use crate::backend::clock::Timestamp;
use sea_orm::entity::prelude::*;

/// A person's authenticator-app enrolment. The secret is sealed with the server's key.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "two_factor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    pub sealed_secret: Vec<u8>,
    /// `None` while the enrolment waits for the confirming code.
    pub enabled_at: Option<Timestamp>,
    /// The last code step accepted; a code for this step or an earlier one is a replay.
    pub last_step: Option<i64>,
    /// Wrong codes in a row.
    pub failures: i32,
    pub last_failure_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactor")
            .field("user_id", &self.user_id)
            .field("enabled", &self.enabled_at.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
