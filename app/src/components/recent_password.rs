//! "Sudo mode": sensitive actions need the password entered within the last ten minutes.
//! When the server answers that it needs it again, the page asks for it right where the
//! person is (not on another page), and once it is confirmed carries on with what they
//! were doing.

use super::{Field, FormAlert};
use crate::{api::ConfirmPassword, error::AppError};
use leptos::{prelude::*, server_fn::ServerFn};
use std::sync::Arc;

/// Where a password prompt is showing, and what to do once the password is confirmed.
#[derive(Clone, Copy)]
pub struct RecentPassword {
    asking: RwSignal<Option<&'static str>>,
    retry: StoredValue<Option<Arc<dyn Fn() + Send + Sync>>>,
}

impl RecentPassword {
    /// Makes a prompt available to everything inside the current component.
    pub fn provide() -> Self {
        let this = RecentPassword {
            asking: RwSignal::new(None),
            retry: StoredValue::new(None),
        };
        provide_context(this);
        this
    }

    pub fn get() -> Self {
        expect_context()
    }

    /// Shows the prompt placed at `place`; `retry` runs once the password is confirmed.
    pub fn ask(self, place: &'static str, retry: impl Fn() + Send + Sync + 'static) {
        self.retry.set_value(Some(Arc::new(retry)));
        self.asking.set(Some(place));
    }

    fn close(self) {
        self.asking.set(None);
        self.retry.set_value(None);
    }

    fn carry_on(self) {
        let retry = self.retry.get_value();
        self.close();
        if let Some(retry) = retry {
            retry();
        }
    }
}

/// Wraps a sensitive action: returns a function that dispatches it, and if the server asks
/// for the password first, shows the prompt at `place` and dispatches it again afterwards.
pub fn with_recent_password<S>(action: ServerAction<S>, place: &'static str) -> impl Fn(S) + Copy
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let prompt = RecentPassword::get();
    let last = StoredValue::new(None::<S>);
    Effect::new(move |_| {
        if let Some(Err(AppError::PasswordConfirmationRequired)) = action.value().get() {
            prompt.ask(place, move || {
                if let Some(input) = last.get_value() {
                    action.dispatch(input);
                }
            });
        }
    });
    move |input: S| {
        last.set_value(Some(input.clone()));
        action.dispatch(input);
    }
}

/// The inline "Confirm it's you" prompt, shown at `place` when asked.
#[component]
pub fn PasswordPrompt(place: &'static str) -> impl IntoView {
    let prompt = RecentPassword::get();
    let confirm = ServerAction::<ConfirmPassword>::new();
    let error = Signal::derive(move || confirm.value().get().and_then(Result::err));
    let field_error = Signal::derive(move || {
        error.get().and_then(|e: AppError| match e {
            AppError::IncorrectPassword => Some(e.to_string()),
            other => other.field_message("current_password"),
        })
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = confirm.value().get() {
            confirm.value().set(None);
            prompt.carry_on();
        }
    });
    let heading = format!("confirm-heading-{place}");
    view! {
        <Show when=move || prompt.asking.get() == Some(place)>
            <div class="password-prompt" role="group" aria-labelledby=heading.clone()>
                <h3 id=heading.clone()>"Confirm it's you"</h3>
                <p>"Enter your password to continue. You won't be asked again for a few minutes."</p>
                <ActionForm action=confirm attr:class="form narrow-form" attr:novalidate=true>
                    <Field
                        label="Password"
                        name="password"
                        id="confirm-password"
                        kind="password"
                        autocomplete="current-password"
                        required=true
                        autofocus=true
                        error=field_error
                    />
                    <FormAlert error=Signal::derive(move || error.get().filter(|e| *e != AppError::IncorrectPassword))/>
                    <div class="button-row">
                        <button class="button button-primary" type="submit" disabled=move || confirm.pending().get()>
                            "Continue"
                        </button>
                        <button class="button" type="button" on:click=move |_| prompt.close()>"Cancel"</button>
                    </div>
                </ActionForm>
            </div>
        </Show>
    }
}
