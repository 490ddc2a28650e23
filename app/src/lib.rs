//! ImportOps Account: where people manage their own account (Settings → Account) and admins
//! manage their team's security (Settings → Team & roles).
//!
//! This crate is compiled twice. With `ssr` it is part of the server: it renders pages,
//! runs the `#[server]` functions in [`api`], and contains the account domain in
//! [`backend`]. With `hydrate` it is compiled to WebAssembly and takes over the
//! server-rendered page in the browser. [`api`], [`error`] and [`validation`] are shared by
//! both sides.

#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod error;
pub mod pages;
pub mod validation;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    components::{ParentRoute, Redirect, Route, Router, Routes},
    path,
};
use pages::{
    AccountPage, ConfirmEmailPage, LoginPage, NotFound, RevertEmailPage, SettingsLayout,
    SignUpPage, TeamPage, TwoFactorSignInPage,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="stylesheet" href="/pkg/importops.css"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page as interactive once the script has taken over, for styles that only
    // apply then and for tests that need to know.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });

    view! {
        <Title formatter=|title: String| format!("{title} · ImportOps")/>
        <a class="skip-link" href="#main">"Skip to content"</a>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/settings/account"/> }/>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/login/two-factor") view=TwoFactorSignInPage/>
                <Route path=path!("/signup") view=SignUpPage/>
                <Route path=path!("/account/email/confirm") view=ConfirmEmailPage/>
                <Route path=path!("/account/email/revert") view=RevertEmailPage/>
                <ParentRoute path=path!("/settings") view=SettingsLayout>
                    <Route path=path!("") view=|| view! { <Redirect path="/settings/account"/> }/>
                    <Route path=path!("account") view=AccountPage/>
                    <Route path=path!("team") view=TeamPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The reference shown with an internal error raised by the framework itself.
pub(crate) fn backend_reference() -> String {
    #[cfg(feature = "ssr")]
    {
        backend::request::reference()
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}
