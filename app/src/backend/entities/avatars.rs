use crate::backend::clock::Timestamp;
use sea_orm::entity::prelude::*;

/// A person's profile picture: the 256x256 JPEG the server made from their upload.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "avatars")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// Hex SHA-256 of `image`; part of the picture's URL, so a new picture gets a new URL
    /// and browsers may cache each one forever.
    pub hash: String,
    pub image: Vec<u8>,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Avatar")
            .field("user_id", &self.user_id)
            .field("hash", &self.hash)
            .field("bytes", &self.image.len())
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
