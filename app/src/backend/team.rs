//! The organisation's members, as Settings → Team & roles shows them.

use super::{entities::users, error::Result, sessions::Authenticated, state::AppState};
use crate::api::{Role, TeamMember};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// Everyone in the signed-in person's organisation, by name. The organisation comes from
/// the session, so nobody can list another organisation's members.
pub async fn members(state: &AppState, auth: &Authenticated) -> Result<Vec<TeamMember>> {
    let rows = users::Entity::find()
        .filter(users::Column::OrganisationId.eq(auth.user.organisation_id))
        .order_by_asc(users::Column::FirstName)
        .order_by_asc(users::Column::LastName)
        .order_by_asc(users::Column::Id)
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
        })
        .collect())
}
