//! "Your profile": first and last name, and the profile picture.
//!
//! Pictures are made by [`super::avatar::pipeline`] from whatever the person uploads. That
//! work is CPU- and memory-heavy and runs on attacker-chosen bytes, so here it runs on the
//! blocking pool, at most one image per core, under a time limit, and a panic in a decoder
//! becomes a refusal instead of a crash.

use super::{
    avatar::pipeline::{self, Limits, PipelineError},
    clock::Timestamp,
    db,
    entities::{avatars, organisations, users},
    error::{Error, Result},
    request::ClientInfo,
    security_events::{self, Kind, NewEvent},
    sessions::Authenticated,
    state::AppState,
};
use crate::{
    api::{CurrentUser, Role},
    error::{AppError, FieldError},
    validation,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::OnConflict,
};
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;

/// The largest upload accepted, checked while the body streams in.
pub const MAX_UPLOAD_BYTES: usize = crate::validation::AVATAR_MAX_BYTES;

/// The path at which a picture with this hash is served (forever cacheable).
pub fn avatar_url(hash: &str) -> String {
    format!("/avatars/{hash}.jpg")
}

/// The signed-in person as the pages show them.
pub async fn current_user(state: &AppState, auth: &Authenticated) -> Result<CurrentUser> {
    let organisation = organisations::Entity::find_by_id(auth.user.organisation_id)
        .one(state.db())
        .await?
        .map(|org| org.name)
        .unwrap_or_default();
    let avatar = avatar_hash(state.db(), auth.user.id).await?;
    let pending_email =
        super::email_change::pending(state.db(), auth.user.id, state.clock().now()).await?;
    let recovery_codes_left = if auth.two_factor_enabled {
        super::two_factor::recovery_codes_left(state.db(), auth.user.id).await?
    } else {
        0
    };
    let user = &auth.user;
    Ok(CurrentUser {
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        email: user.email.clone(),
        role: Role::from_stored(&user.role).unwrap_or(Role::Member),
        organisation_name: organisation,
        avatar_url: avatar.as_deref().map(avatar_url),
        pending_email,
        two_factor_enabled: auth.two_factor_enabled,
        two_factor_required: auth.two_factor_required,
        recovery_codes_left,
    })
}

/// Changes the first and last name. Only these two fields can be changed here.
pub async fn update_names(
    state: &AppState,
    auth: &Authenticated,
    first_name: &str,
    last_name: &str,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<(String, String)> {
    let mut errors: Vec<FieldError> = Vec::new();
    let first = validation::name("first_name", "first name", first_name)
        .map_err(|e| errors.push(e))
        .ok();
    let last = validation::name("last_name", "last name", last_name)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(first), Some(last)) = (first, last) else {
        return Err(AppError::Invalid(errors).into());
    };

    let txn = db::begin_write(state.db()).await?;
    users::ActiveModel {
        id: Set(auth.user.id),
        first_name: Set(first.clone()),
        last_name: Set(last.clone()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let event = NewEvent::for_user(
        Kind::ProfileUpdated,
        auth.user.id,
        auth.user.organisation_id,
        client,
    );
    security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    Ok((first, last))
}

/// Makes a profile picture from uploaded bytes and stores it in place of the old one.
/// Returns its URL. On any refusal nothing changes, and the refusal is logged as a
/// security event.
pub async fn set_avatar(
    state: &AppState,
    auth: &Authenticated,
    upload: Vec<u8>,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<String> {
    let processed = match process(state, upload).await {
        Ok(jpeg) => jpeg,
        Err(Error::App(refusal)) => {
            let mut event = NewEvent::for_user(
                Kind::UploadRejected,
                auth.user.id,
                auth.user.organisation_id,
                client,
            );
            event.detail = Some(serde_json::json!({ "reason": refusal.to_string() }));
            security_events::record(state.db(), event, now).await?;
            return Err(refusal.into());
        }
        Err(other) => return Err(other),
    };
    let hash = hex::encode(Sha256::digest(&processed));

    let txn = db::begin_write(state.db()).await?;
    avatars::Entity::insert(avatars::ActiveModel {
        user_id: Set(auth.user.id),
        hash: Set(hash.clone()),
        image: Set(processed),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(avatars::Column::UserId)
            .update_columns([
                avatars::Column::Hash,
                avatars::Column::Image,
                avatars::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    let event = NewEvent::for_user(
        Kind::AvatarChanged,
        auth.user.id,
        auth.user.organisation_id,
        client,
    );
    security_events::record(&txn, event, now).await?;
    txn.commit().await?;
    Ok(avatar_url(&hash))
}

/// Removes the profile picture; initials are shown instead.
pub async fn remove_avatar(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<()> {
    let txn = db::begin_write(state.db()).await?;
    let removed = avatars::Entity::delete_by_id(auth.user.id)
        .exec(&txn)
        .await?;
    if removed.rows_affected > 0 {
        let event = NewEvent::for_user(
            Kind::AvatarRemoved,
            auth.user.id,
            auth.user.organisation_id,
            client,
        );
        security_events::record(&txn, event, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The hash of a person's picture, if they have one (without loading the image).
pub async fn avatar_hash(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<String>> {
    let hash = avatars::Entity::find_by_id(user_id)
        .select_only()
        .column(avatars::Column::Hash)
        .into_tuple::<String>()
        .one(db)
        .await?;
    Ok(hash)
}

/// A picture by its hash, for serving.
pub async fn avatar_by_hash(db: &impl ConnectionTrait, hash: &str) -> Result<Option<Vec<u8>>> {
    let image = avatars::Entity::find()
        .filter(avatars::Column::Hash.eq(hash))
        .select_only()
        .column(avatars::Column::Image)
        .into_tuple::<Vec<u8>>()
        .one(db)
        .await?;
    Ok(image)
}

/// Runs the pipeline off the async runtime, one image per core at most, with a time
/// limit. The permit travels with the work: an image that overruns its time still holds
/// its slot until it finishes, so slow uploads cannot pile up unbounded work.
async fn process(state: &AppState, upload: Vec<u8>) -> Result<Vec<u8>> {
    // Waiting for a slot counts against the time limit too, so a queue of uploads (each
    // holding its bytes) drains instead of growing without bound.
    let permits = state.image_permits().clone();
    let limits = state.settings().avatar_limits.clone();
    let work = async move {
        let permit = permits.acquire_owned().await.map_err(Error::internal)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            std::panic::catch_unwind(AssertUnwindSafe(|| pipeline::make_avatar(&upload, &limits)))
        })
        .await
        .map_err(Error::internal)
    };
    match tokio::time::timeout(state.settings().avatar_processing_timeout, work).await {
        Err(_elapsed) => {
            tracing::warn!("avatar processing timed out");
            Err(refusal("That image took too long to process. Try a smaller image.").into())
        }
        Ok(Err(error)) => Err(error),
        Ok(Ok(Err(_panic))) => {
            tracing::warn!("avatar decoder panicked; upload refused");
            Err(refusal("That image could not be read. Try saving it again as JPEG or PNG.").into())
        }
        Ok(Ok(Ok(result))) => {
            result.map_err(|error| Error::App(explain(error, &state.settings().avatar_limits)))
        }
    }
}

fn explain(error: PipelineError, limits: &Limits) -> AppError {
    match error {
        PipelineError::Unsupported => refusal("Use a JPEG, PNG, WebP or GIF image."),
        PipelineError::Corrupt => refusal(
            "That image could not be read. It may be damaged or incomplete. Use a JPEG, PNG, \
             WebP or GIF image.",
        ),
        PipelineError::TooLarge { width, height } => refusal(format!(
            "That image is {width}x{height} pixels. Use one of at most {}x{} pixels.",
            limits.max_width, limits.max_height
        )),
        PipelineError::TooMuchMemory => {
            refusal("That image is too large to process. Use a smaller one.")
        }
    }
}

fn refusal(message: impl Into<String>) -> AppError {
    AppError::invalid("avatar", message)
}
