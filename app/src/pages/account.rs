//! Settings → Account.

use crate::{
    api::{CancelEmailChange, RequestEmailChange, ResendEmailChange, UpdateProfile},
    components::{AvatarEditor, Field, FormAlert, Me, RecentPassword, StatusMessage},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Me::get();
    RecentPassword::provide();
    super::security::SecurityChanges::provide();
    // Until someone whose organisation requires two-factor authentication has set it up,
    // the page offers only that (the server refuses everything else meanwhile).
    let must_enrol = super::two_factor::must_enrol(me);
    // Each group is type-erased: the page's full view type is otherwise deep enough to
    // exceed the compiler's limits when building the browser side.
    let before = move || {
        view! {
            <section class="card" aria-labelledby="profile-heading">
                <h2 id="profile-heading">"Your profile"</h2>
                <div class="profile">
                    <AvatarEditor/>
                    <ProfileForm/>
                </div>
            </section>
            <EmailSection/>
            <super::security::PasswordSection/>
        }
        .into_any()
    };
    let after = move || {
        view! {
            <super::security::SessionsSection/>
            <section class="card" aria-labelledby="organisation-heading">
                <h2 id="organisation-heading">"Organisation"</h2>
                <dl class="details">
                    <div>
                        <dt>"Organisation"</dt>
                        <dd>{move || me.with(|user| user.organisation_name.clone())}</dd>
                    </div>
                    <div>
                        <dt>"Role"</dt>
                        <dd>{move || me.with(|user| user.role.label())}</dd>
                    </div>
                </dl>
            </section>
            <super::security::ActivitySection/>
        }
        .into_any()
    };
    view! {
        <Title text="Account"/>
        <h1>"Account"</h1>
        <p class="lead">"Manage your personal account."</p>
        <Show when=move || must_enrol.get()>
            <p class="alert alert-info" role="status">
                "Your organisation requires two-factor authentication. Set it up below to continue using ImportOps."
            </p>
        </Show>
        <Show when=move || !must_enrol.get()>{before()}</Show>
        {view! { <super::two_factor::TwoFactorSection/> }.into_any()}
        <Show when=move || !must_enrol.get()>{after()}</Show>
    }
}

/// First name, last name, "Save". The new name shows at once in the top bar.
#[component]
fn ProfileForm() -> impl IntoView {
    let me = Me::get();
    let (first_name, last_name) =
        me.with_untracked(|user| (user.first_name.clone(), user.last_name.clone()));
    let save = ServerAction::<UpdateProfile>::new();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e: AppError| e.field_message(field)))
    };
    let saved = RwSignal::new(None::<String>);
    Effect::new(move |_| match save.value().get() {
        Some(Ok(user)) => {
            me.set(user);
            saved.set(Some("Your profile was saved.".into()));
        }
        Some(Err(_)) => saved.set(None),
        None => {}
    });

    view! {
        <ActionForm action=save attr:class="form profile-form" attr:novalidate=true>
            <div class="field-row">
                <Field
                    label="First name"
                    name="first_name"
                    autocomplete="given-name"
                    required=true
                    value=first_name
                    error=field_error("first_name")
                />
                <Field
                    label="Last name"
                    name="last_name"
                    autocomplete="family-name"
                    required=true
                    value=last_name
                    error=field_error("last_name")
                />
            </div>
            <FormAlert error/>
            <div class="form-footer">
                <button class="button button-primary" type="submit" disabled=move || save.pending().get()>
                    "Save"
                </button>
                <StatusMessage message=saved/>
            </div>
        </ActionForm>
    }
}

/// Settings → Account → Email: the address you sign in with, "Change email", and a pending
/// change with "Resend" and "Cancel".
#[component]
fn EmailSection() -> impl IntoView {
    let me = Me::get();
    let editing = RwSignal::new(false);
    let status = RwSignal::new(None::<String>);
    let request = ServerAction::<RequestEmailChange>::new();
    let resend = ServerAction::<ResendEmailChange>::new();
    let cancel = ServerAction::<CancelEmailChange>::new();

    let request_error = Signal::derive(move || request.value().get().and_then(Result::err));
    let field_error = move |field: &'static str| {
        Signal::derive(move || {
            request_error
                .get()
                .and_then(|e: AppError| e.field_message(field))
        })
    };
    let other_error = RwSignal::new(None::<AppError>);
    let pending = move || me.with(|user| user.pending_email.clone());

    Effect::new(move |_| {
        if let Some(Ok(new_email)) = request.value().get() {
            status.set(Some(format!(
                "We sent a confirmation link to {new_email}. Your address changes when you click it."
            )));
            me.update(|user| user.pending_email = Some(new_email));
            editing.set(false);
        }
    });
    Effect::new(move |_| match resend.value().get() {
        Some(Ok(())) => {
            other_error.set(None);
            // Untracked: this answers the resend, not later changes to the pending address.
            let pending = me.with_untracked(|user| user.pending_email.clone());
            status.set(pending.map(|email| format!("We sent a new confirmation link to {email}.")));
        }
        Some(Err(error)) => other_error.set(Some(error)),
        None => {}
    });
    Effect::new(move |_| match cancel.value().get() {
        Some(Ok(())) => {
            other_error.set(None);
            me.update(|user| user.pending_email = None);
            status.set(Some("The email change was cancelled.".into()));
        }
        Some(Err(error)) => other_error.set(Some(error)),
        None => {}
    });

    view! {
        <section class="card" aria-labelledby="email-heading">
            <h2 id="email-heading">"Email"</h2>
            <p>"You sign in with " <strong>{move || me.with(|user| user.email.clone())}</strong> "."</p>
            <Show when=move || pending().is_some() && !editing.get()>
                <div class="pending">
                    <p>
                        "Pending: confirmation sent to "
                        <strong>{move || pending().unwrap_or_default()}</strong>
                    </p>
                    <div class="button-row">
                        <ActionForm action=resend>
                            <button class="button" type="submit" disabled=move || resend.pending().get()>"Resend"</button>
                        </ActionForm>
                        <ActionForm action=cancel>
                            <button class="button" type="submit" disabled=move || cancel.pending().get()>"Cancel"</button>
                        </ActionForm>
                    </div>
                </div>
            </Show>
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <button class="button" type="button" on:click=move |_| {
                        status.set(None);
                        editing.set(true);
                    }>"Change email"</button>
                }
            >
                <ActionForm action=request attr:class="form narrow-form" attr:novalidate=true>
                    <Field
                        label="Current password"
                        name="current_password"
                        kind="password"
                        autocomplete="current-password"
                        required=true
                        autofocus=true
                        error=field_error("current_password")
                    />
                    <Field
                        label="New email"
                        name="new_email"
                        kind="email"
                        autocomplete="email"
                        required=true
                        error=field_error("new_email")
                    />
                    <FormAlert error=request_error/>
                    <div class="button-row">
                        <button class="button button-primary" type="submit" disabled=move || request.pending().get()>
                            "Confirm"
                        </button>
                        <button class="button" type="button" on:click=move |_| editing.set(false)>"Back"</button>
                    </div>
                </ActionForm>
            </Show>
            <FormAlert error=other_error/>
            <StatusMessage message=status/>
        </section>
    }
}
