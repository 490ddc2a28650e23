//! The pages that links in email open: confirming a new address, and "This wasn't me".
//!
//! Opening a page changes nothing (mail scanners follow links); only its button does. The
//! token stays in the query string, which never reaches the logs, and these pages send no
//! referrer, so the token does not leak to any site linked from them.

use super::AuthCard;
use crate::{
    api::{
        ConfirmEmailChange, EmailLink, LinkKind, RevertEmailChange, inspect_email_change,
        inspect_email_revert,
    },
    components::FormAlert,
};
use leptos::{either::EitherOf4, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/account/email/confirm?token=…`: "Confirm email change".
#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let token = Signal::derive({
        let query = use_query_map();
        move || query.read().get("token").unwrap_or_default()
    });
    let link = Resource::new(move || token.get(), inspect_email_change);
    let confirm = ServerAction::<ConfirmEmailChange>::new();
    let error = Signal::derive(move || confirm.value().get().and_then(Result::err));

    view! {
        <Title text="Confirm email change"/>
        <AuthCard>
            <h1>"Confirm email change"</h1>
            <Transition fallback=|| view! { <p class="loading">"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    if let Some(Ok(email)) = confirm.value().get() {
                        return EitherOf4::A(view! {
                            <p class="alert alert-success" role="status">
                                "Done. You now sign in with " <strong>{email}</strong> "."
                            </p>
                            <p><a class="button button-primary" href="/settings/account">"Go to your account"</a></p>
                        });
                    }
                    match link.await {
                        Ok(EmailLink::Ready { email }) => EitherOf4::B(view! {
                            <p>"From now on, sign in to ImportOps with " <strong>{email}</strong> "?"</p>
                            <FormAlert error/>
                            <ActionForm action=confirm attr:class="form">
                                <input type="hidden" name="token" value=move || token.get()/>
                                <button class="button button-primary" type="submit" disabled=move || confirm.pending().get()>
                                    "Confirm email change"
                                </button>
                            </ActionForm>
                        }),
                        Ok(other) => EitherOf4::C(view! { <DeadLink link=other kind=LinkKind::Confirm/> }),
                        Err(error) => EitherOf4::D(view! { <p class="alert alert-error" role="alert">{error.to_string()}</p> }),
                    }
                })}
            </Transition>
        </AuthCard>
    }
}

/// `/account/email/revert?token=…`: "This wasn't me".
#[component]
pub fn RevertEmailPage() -> impl IntoView {
    let token = Signal::derive({
        let query = use_query_map();
        move || query.read().get("token").unwrap_or_default()
    });
    let link = Resource::new(move || token.get(), inspect_email_revert);
    let revert = ServerAction::<RevertEmailChange>::new();
    let error = Signal::derive(move || revert.value().get().and_then(Result::err));

    view! {
        <Title text="Undo email change"/>
        <AuthCard>
            <h1>"Undo email change"</h1>
            <Transition fallback=|| view! { <p class="loading">"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    if let Some(Ok(email)) = revert.value().get() {
                        return EitherOf4::A(view! {
                            <p class="alert alert-success" role="status">
                                "Your email address is " <strong>{email}</strong> " again, and every session was signed out."
                            </p>
                            <p>"Sign in again, then change your password: whoever changed your address may know it."</p>
                            <p><a class="button button-primary" href="/login">"Sign in"</a></p>
                        });
                    }
                    match link.await {
                        Ok(EmailLink::Ready { email }) => EitherOf4::B(view! {
                            <p>
                                "If you didn't change your ImportOps email address, put "
                                <strong>{email}</strong>
                                " back. Every session, including any someone else has, will be signed out."
                            </p>
                            <FormAlert error/>
                            <ActionForm action=revert attr:class="form">
                                <input type="hidden" name="token" value=move || token.get()/>
                                <button class="button button-primary" type="submit" disabled=move || revert.pending().get()>
                                    "Put my address back"
                                </button>
                            </ActionForm>
                        }),
                        Ok(other) => EitherOf4::C(view! { <DeadLink link=other kind=LinkKind::Undo/> }),
                        Err(error) => EitherOf4::D(view! { <p class="alert alert-error" role="alert">{error.to_string()}</p> }),
                    }
                })}
            </Transition>
        </AuthCard>
    }
}

/// An expired or unusable link, and what to do next. Whoever holds a dead undo link may be
/// locked out of the account, so they are sent to sign in rather than to its settings.
#[component]
fn DeadLink(link: EmailLink, kind: LinkKind) -> impl IntoView {
    let message = match link {
        EmailLink::Expired => kind.expired_message(),
        _ => kind.unknown_message(),
    };
    let (href, label) = match kind {
        LinkKind::Confirm => ("/settings/account", "Go to Settings → Account"),
        LinkKind::Undo => ("/login", "Sign in"),
    };
    view! {
        <p class="alert alert-error" role="alert">{message}</p>
        <p><a class="button" href=href>{label}</a></p>
    }
}
