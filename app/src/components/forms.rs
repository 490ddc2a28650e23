//! Form fields and messages that show the server's answer.

use crate::error::AppError;
use leptos::prelude::*;

/// A labelled input with an optional hint and the server's message for it. The message is
/// linked to the input (`aria-describedby`) and marks it invalid, so screen readers read it
/// with the field.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    /// The on-screen keyboard to offer, such as "numeric" for codes.
    #[prop(optional)]
    inputmode: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] autofocus: bool,
    #[prop(optional, into)] value: Option<String>,
    #[prop(into)] error: Signal<Option<String>>,
    /// The element id, when two forms on one page share a field name.
    #[prop(optional)]
    id: Option<&'static str>,
    /// Called with the value as the person types.
    #[prop(optional, into)]
    on_input: Option<Callback<String>>,
) -> impl IntoView {
    let id = id.map_or_else(|| format!("field-{name}"), str::to_owned);
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = match hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <p class="field-hint" id=hint_id.clone()>{hint}</p> })}
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                inputmode=inputmode
                required=required
                autofocus=autofocus
                value=value
                aria-describedby=described_by
                aria-invalid=move || error.get().map(|_| "true")
                on:input=move |ev| {
                    if let Some(on_input) = on_input {
                        on_input.run(event_target_value(&ev));
                    }
                }
            />
            <p class="field-error" id=error_id>
                {move || error.get()}
            </p>
        </div>
    }
}

/// The form-level message for an error that is not about one field (wrong password,
/// throttling, an outage). Announced by screen readers as soon as it appears.
#[component]
pub fn FormAlert(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let region = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(error) = error.get()
            && !sign_in_again_if_needed(&error)
            && error.is_field_error()
        {
            // Field messages sit beside their fields; moving focus to the first one makes a
            // screen reader read its label and message at once.
            request_animation_frame(move || focus_first_invalid_field(region));
        }
    });
    let message = move || {
        error
            .get()
            .filter(|e| !e.is_field_error())
            .map(|e| e.to_string())
    };
    view! {
        <div class="form-alert-region" role="alert" node_ref=region>
            {move || message().map(|message| view! { <p class="alert alert-error">{message}</p> })}
        </div>
    }
}

fn focus_first_invalid_field(region: NodeRef<leptos::html::Div>) {
    use wasm_bindgen::JsCast;
    let field = region
        .get_untracked()
        .and_then(|region| region.closest("form").ok().flatten())
        .and_then(|form| form.query_selector("[aria-invalid='true']").ok().flatten())
        .and_then(|field| field.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(field) = field {
        let _ = field.focus();
    }
}

/// A short confirmation next to a form ("Saved."), announced politely by screen readers.
#[component]
pub fn StatusMessage(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="status-message" role="status">
            {move || message.get()}
        </p>
    }
}

/// After a successful sign-in, sign-up or sign-out, loads the page the server named. A full
/// page load (rather than client-side navigation) makes every part of the page reflect the
/// new session.
pub fn navigate_on_success(value: impl Get<Value = Option<Result<String, AppError>>> + 'static) {
    Effect::new(move |_| {
        if let Some(Ok(path)) = value.get() {
            let _ = window().location().set_href(&path);
        }
    });
}

/// When an answer says the session is over, opens the sign-in page (saying why, when the
/// session was ended from elsewhere) and comes back here afterwards. Returns whether it did.
pub fn sign_in_again_if_needed(error: &AppError) -> bool {
    let ended = match error {
        AppError::Unauthenticated => None,
        AppError::SessionEnded { reason } => Some(*reason),
        _ => return false,
    };
    let location = window().location();
    let here = location.pathname().unwrap_or_default();
    let _ = location.set_href(&crate::validation::login_path(&here, ended));
    true
}
