use crate::backend::clock::Timestamp;
use sea_orm::entity::prelude::*;

/// A signed-in browser. The cookie holds a random token; this row holds only its SHA-256.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub token_hash: String,
    pub created_at: Timestamp,
    /// Updated at most once a minute; drives the idle timeout.
    pub last_seen_at: Timestamp,
    /// The absolute end of the session, fixed when it is created.
    pub expires_at: Timestamp,
    /// When the password was last entered in this session (sign-in or re-authentication).
    pub authenticated_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Why the session was ended from elsewhere; `None` while it is live. See
    /// [`crate::api::EndReason`].
    pub revoked_reason: Option<String>,
    /// The password was right and a second factor is still awaited: such a session reaches
    /// nothing but the code page, and lives five minutes.
    pub second_factor_pending: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
