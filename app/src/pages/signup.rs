use super::AuthCard;
use crate::{
    api::SignUp,
    components::{Field, FormAlert, navigate_on_success},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// "Create account": a new organisation with the person as its Owner.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let sign_up = ServerAction::<SignUp>::new();
    navigate_on_success(sign_up.value());
    let error = Signal::derive(move || sign_up.value().get().and_then(Result::err));
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e: AppError| e.field_message(field)))
    };

    view! {
        <Title text="Create account"/>
        <AuthCard>
            <h1>"Create account"</h1>
            <p class="lead">"Set up ImportOps for your organisation. You'll be its owner."</p>
            <FormAlert error/>
            <ActionForm action=sign_up attr:class="form" attr:novalidate=true>
                <div class="field-row">
                    <Field
                        label="First name"
                        name="first_name"
                        autocomplete="given-name"
                        required=true
                        autofocus=true
                        error=field_error("first_name")
                    />
                    <Field
                        label="Last name"
                        name="last_name"
                        autocomplete="family-name"
                        required=true
                        error=field_error("last_name")
                    />
                </div>
                <Field
                    label="Work email"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    required=true
                    error=field_error("email")
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 12 characters. A few unrelated words make a strong password."
                    required=true
                    error=field_error("password")
                />
                <Field
                    label="Organisation name"
                    name="organisation"
                    autocomplete="organization"
                    required=true
                    error=field_error("organisation")
                />
                <button class="button button-primary" type="submit" disabled=move || sign_up.pending().get()>
                    "Create account"
                </button>
            </ActionForm>
            <p class="auth-switch">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </AuthCard>
    }
}
