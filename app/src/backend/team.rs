//! The organisation's members, as Settings → Team & roles shows them.

use super::{
    entities::{avatars, users},
    error::Result,
    profile::avatar_url,
    sessions::Authenticated,
    state::AppState,
};
use crate::api::{Role, TeamMember};
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};

/// A member row with their picture's hash, without loading the picture.
#[derive(FromQueryResult)]
struct MemberRow {
    id: i64,
    role: String,
    first_name: String,
    last_name: String,
    email: String,
    avatar_hash: Option<String>,
}

/// Everyone in the signed-in person's organisation, by name. The organisation comes from
/// the session, so nobody can list another organisation's members.
pub async fn members(state: &AppState, auth: &Authenticated) -> Result<Vec<TeamMember>> {
    let rows = users::Entity::find()
        .select_only()
        .columns([
            users::Column::Id,
            users::Column::Role,
            users::Column::FirstName,
            users::Column::LastName,
            users::Column::Email,
        ])
        .column_as(avatars::Column::Hash, "avatar_hash")
        .join(JoinType::LeftJoin, users::Relation::Avatar.def())
        .filter(users::Column::OrganisationId.eq(auth.user.organisation_id))
        .order_by_asc(users::Column::FirstName)
        .order_by_asc(users::Column::LastName)
        .order_by_asc(users::Column::Id)
        .into_model::<MemberRow>()
        .all(state.db())
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| TeamMember {
            is_you: row.id == auth.user.id,
            id: row.id,
            role: Role::from_stored(&row.role).unwrap_or(Role::Member),
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            avatar_url: row.avatar_hash.as_deref().map(avatar_url),
        })
        .collect())
}
