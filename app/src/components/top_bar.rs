//! The bar across the top of every signed-in page: the product, and the person's avatar
//! with the account menu.

use super::{Brand, Me, navigate_on_success};
use crate::api::SignOut;
use leptos::prelude::*;

#[component]
pub fn TopBar() -> impl IntoView {
    view! {
        <header class="top-bar">
            <a class="top-bar-brand" href="/settings/account">
                <Brand/>
            </a>
            <UserMenu/>
        </header>
    }
}

/// The avatar button in the top-right corner and its menu: "Settings" and "Sign out".
///
/// A native disclosure (`<details>`), so it opens before the page's script has loaded and
/// keyboard and screen-reader support come from the browser.
#[component]
fn UserMenu() -> impl IntoView {
    let me = Me::get();
    let sign_out = ServerAction::<SignOut>::new();
    navigate_on_success(sign_out.value());
    view! {
        <details class="user-menu">
            <summary
                class="user-menu-button"
                aria-label=move || me.with(|user| format!("Account menu for {}", user.full_name()))
            >
                <Avatar
                    initials=Signal::derive(move || me.with(|user| user.initials()))
                    url=Signal::derive(move || me.with(|user| user.avatar_url.clone()))
                />
            </summary>
            <div class="user-menu-panel">
                <div class="user-menu-who">
                    <span class="user-menu-name">{move || me.with(|user| user.full_name())}</span>
                    <span class="user-menu-email">{move || me.with(|user| user.email.clone())}</span>
                </div>
                <a class="user-menu-item" href="/settings/account">"Settings"</a>
                <ActionForm action=sign_out>
                    <button class="user-menu-item" type="submit">"Sign out"</button>
                </ActionForm>
            </div>
        </details>
    }
}

/// A person's picture, or their initials until they upload one. Decorative: the name is
/// always shown or announced next to it.
#[component]
pub fn Avatar(
    #[prop(into)] initials: Signal<String>,
    #[prop(into, optional)] url: Signal<Option<String>>,
    #[prop(optional)] large: bool,
) -> impl IntoView {
    view! {
        <span class="avatar" class:avatar-large=large aria-hidden="true">
            {move || match url.get() {
                Some(url) => view! { <img class="avatar-image" src=url alt=""/> }.into_any(),
                None => initials.get().into_any(),
            }}
        </span>
    }
}
