//! Settings → Account.

use crate::{
    api::UpdateProfile,
    components::{AvatarEditor, Field, FormAlert, Me, StatusMessage},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Me::get();
    view! {
        <Title text="Account"/>
        <h1>"Account"</h1>
        <p class="lead">"Manage your personal account."</p>
        <section class="card" aria-labelledby="profile-heading">
            <h2 id="profile-heading">"Your profile"</h2>
            <div class="profile">
                <AvatarEditor/>
                <ProfileForm/>
            </div>
        </section>
        <section class="card" aria-labelledby="email-heading">
            <h2 id="email-heading">"Email"</h2>
            <dl class="details">
                <div>
                    <dt>"Email"</dt>
                    <dd>{move || me.with(|user| user.email.clone())}</dd>
                </div>
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
