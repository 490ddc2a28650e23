//! Building blocks shared by the pages.

mod forms;
mod top_bar;

pub use forms::{Field, FormAlert, navigate_on_success};
pub use top_bar::{Avatar, TopBar};

use crate::{api::CurrentUser, error::AppError};
use leptos::prelude::*;

/// The signed-in person, loaded once per page load and shared through context. It is
/// resolved during server rendering, so the first paint already shows the right name.
#[derive(Clone, Copy)]
pub struct CurrentUserResource(pub Resource<Result<Option<CurrentUser>, AppError>>);

impl CurrentUserResource {
    pub fn new() -> Self {
        CurrentUserResource(Resource::new(|| (), |_| crate::api::load_current_user()))
    }

    pub fn get() -> Self {
        expect_context::<CurrentUserResource>()
    }
}

impl Default for CurrentUserResource {
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
