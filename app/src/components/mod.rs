//! Building blocks shared by the pages.

mod avatar_editor;
mod forms;
mod qr_code;
mod recent_password;
mod time;
mod top_bar;

pub use avatar_editor::AvatarEditor;
pub use forms::{Field, FormAlert, StatusMessage, navigate_on_success, sign_in_again_if_needed};
pub use qr_code::QrCode;
pub use recent_password::{PasswordPrompt, RecentPassword, with_recent_password};
pub use time::{LocalTime, format_utc};
pub use top_bar::{Avatar, TopBar};

use crate::api::CurrentUser;
use leptos::prelude::*;

/// The signed-in person on a settings page: loaded once, during server rendering, then kept
/// up to date in place as they change their name or picture, so the top bar and every
/// page show the change at once without reloading anything.
///
/// The settings frame provides it before anything inside renders and fills it as soon as
/// the person is loaded; nothing reads it before then, and the accessors answer with
/// defaults in that moment rather than panicking.
#[derive(Clone, Copy)]
pub struct Me(RwSignal<Option<CurrentUser>>);

impl Me {
    pub fn new() -> Self {
        Me(RwSignal::new(None))
    }

    pub fn get() -> Self {
        expect_context::<Me>()
    }

    /// Reads from the person, tracking changes.
    pub fn with<T: Default>(self, read: impl FnOnce(&CurrentUser) -> T) -> T {
        self.0
            .with(|user| user.as_ref().map(read).unwrap_or_default())
    }

    /// Reads from the person without tracking changes (for a form's initial values).
    pub fn with_untracked<T: Default>(self, read: impl FnOnce(&CurrentUser) -> T) -> T {
        self.0
            .with_untracked(|user| user.as_ref().map(read).unwrap_or_default())
    }

    pub fn set(self, user: CurrentUser) {
        self.0.set(Some(user));
    }

    pub fn update(self, change: impl FnOnce(&mut CurrentUser)) {
        self.0.update(|user| {
            if let Some(user) = user {
                change(user);
            }
        });
    }
}

impl Default for Me {
    fn default() -> Self {
        Self::new()
    }
}

/// The product's name as a heading-free brand mark.
#[component]
pub fn Brand() -> impl IntoView {
    view! {
        <span class="brand">
            <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                <rect x="2" y="2" width="20" height="20" rx="6"></rect>
                <path d="M8 12h8M12 8v8"></path>
            </svg>
            <span class="brand-name">"ImportOps"</span>
        </span>
    }
}
