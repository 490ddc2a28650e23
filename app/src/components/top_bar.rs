//! The bar across the top of every signed-in page: the product, and the person's avatar
//! with the account menu.

use super::{Brand, CurrentUserResource, navigate_on_success};
use crate::api::{CurrentUser, SignOut};
use leptos::prelude::*;

#[component]
pub fn TopBar() -> impl IntoView {
    let me = CurrentUserResource::get().0;
    view! {
        <header class="top-bar">
            <a class="top-bar-brand" href="/settings/account">
                <Brand/>
            </a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().map(|user| view! { <UserMenu user/> })
                })}
            </Transition>
        </header>
    }
}

/// The avatar button in the top-right corner and its menu: "Settings" and "Sign out".
///
/// A native disclosure (`<details>`), so it opens before the page's script has loaded and
/// keyboard and screen-reader support come from the browser.
#[component]
fn UserMenu(user: CurrentUser) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    navigate_on_success(sign_out.value());
    let label = format!("Account menu for {}", user.full_name());
    view! {
        <details class="user-menu">
            <summary class="user-menu-button" aria-label=label>
                <Avatar initials=user.initials()/>
            </summary>
            <div class="user-menu-panel">
                <div class="user-menu-who">
                    <span class="user-menu-name">{user.full_name()}</span>
                    <span class="user-menu-email">{user.email.clone()}</span>
                </div>
                <a class="user-menu-item" href="/settings/account">"Settings"</a>
                <ActionForm action=sign_out>
                    <button class="user-menu-item" type="submit">"Sign out"</button>
                </ActionForm>
            </div>
        </details>
    }
}

/// A person's picture, or their initials until they upload one.
#[component]
pub fn Avatar(initials: String, #[prop(optional)] large: bool) -> impl IntoView {
    view! {
        <span class="avatar" class:avatar-large=large aria-hidden="true">
            {initials}
        </span>
    }
}
