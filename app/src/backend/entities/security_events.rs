use crate::backend::clock::Timestamp;
use sea_orm::entity::prelude::*;

/// One entry in the security log: who did what to which account, from where.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The account the event is about; `None` for events about no known account.
    pub user_id: Option<i64>,
    pub organisation_id: Option<i64>,
    /// A stable identifier such as `signed_in`; see [`crate::backend::security_events::Kind`].
    pub kind: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Extra facts as JSON (for example the admin who acted). Never secrets.
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
