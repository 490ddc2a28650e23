//! One module per page.

mod account;
mod email_links;
mod login;
mod not_found;
mod security;
mod settings;
mod signup;
mod two_factor;

pub use account::AccountPage;
pub use email_links::{ConfirmEmailPage, RevertEmailPage};
pub use login::LoginPage;
pub use not_found::NotFound;
pub use settings::{SettingsLayout, TeamPage};
pub use signup::SignUpPage;
pub use two_factor::TwoFactorSignInPage;

use crate::components::Brand;
use leptos::prelude::*;

/// The centred card that the sign-in and sign-up pages share.
#[component]
fn AuthCard(children: Children) -> impl IntoView {
    view! {
        <div class="auth-page">
            <header class="auth-header">
                <a href="/login" class="auth-brand">
                    <Brand/>
                </a>
            </header>
            <main id="main" class="auth-card">
                {children()}
            </main>
        </div>
    }
}
