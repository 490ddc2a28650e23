use super::AuthCard;
use crate::{
    api::{EndReason, SignIn},
    components::{Field, FormAlert, navigate_on_success},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// "Sign in": email and password.
#[component]
pub fn LoginPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    navigate_on_success(sign_in.value());
    let error = Signal::derive(move || sign_in.value().get().and_then(Result::err));
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e: AppError| e.field_message(field)))
    };
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    // Set when the session was ended from elsewhere, to say why this page appeared.
    let ended = move || {
        query
            .read()
            .get("ended")
            .and_then(|reason| EndReason::from_stored(&reason))
    };

    view! {
        <Title text="Sign in"/>
        <AuthCard>
            <h1>"Sign in"</h1>
            <p class="lead">"Welcome back. Sign in to manage your account."</p>
            {move || ended().map(|reason| view! {
                <p class="alert alert-info" role="status">{reason.message()}</p>
            })}
            <FormAlert error/>
            <ActionForm action=sign_in attr:class="form" attr:novalidate=true>
                <input type="hidden" name="next" value=next/>
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="username"
                    required=true
                    autofocus=true
                    error=field_error("email")
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error=field_error("password")
                />
                <button class="button button-primary" type="submit" disabled=move || sign_in.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
            <p class="auth-switch">"New to ImportOps? " <a href="/signup">"Create account"</a></p>
        </AuthCard>
    }
}
