//! Two-factor authentication: the section on Settings → Account (the enrolment wizard,
//! recovery codes, turning it off) and the code step of signing in.

use super::AuthCard;
use crate::{
    api::{
        ConfirmTwoFactor, DisableTwoFactor, RegenerateRecoveryCodes, SignOut, StartTwoFactor,
        TwoFactorSetup, VerifyRecoveryCode, VerifyTwoFactor,
    },
    components::{
        Field, FormAlert, Me, PasswordPrompt, QrCode, StatusMessage, navigate_on_success,
        with_recent_password,
    },
    error::AppError,
};
use leptos::{either::EitherOf3, html, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wasm_bindgen::{JsCast, JsValue};

/// The recovery-code count at or below which the section warns.
const FEW_RECOVERY_CODES: u64 = 3;

/// The steps of the enrolment wizard, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    About,
    Scan,
    Confirm,
    RecoveryCodes,
}

impl Step {
    const ALL: [Step; 4] = [Step::About, Step::Scan, Step::Confirm, Step::RecoveryCodes];

    fn number(self) -> usize {
        Step::ALL.iter().position(|step| *step == self).unwrap_or(0) + 1
    }

    fn label(self) -> &'static str {
        match self {
            Step::About => "Get an app",
            Step::Scan => "Scan the QR code",
            Step::Confirm => "Enter a code",
            Step::RecoveryCodes => "Save recovery codes",
        }
    }
}

/// Whether the person has to set up two-factor authentication before anything else: their
/// organisation requires it and they have not done it yet.
pub fn must_enrol(me: Me) -> Memo<bool> {
    Memo::new(move |_| me.with(|user| user.two_factor_required && !user.two_factor_enabled))
}

/// Settings → Account → "Two-factor authentication".
#[component]
pub fn TwoFactorSection() -> impl IntoView {
    let me = Me::get();
    let enabled = Memo::new(move |_| me.with(|user| user.two_factor_enabled));
    // Someone who must set it up finds the wizard already open.
    let wizard = RwSignal::new(must_enrol(me).get_untracked().then_some(Step::About));
    let status = RwSignal::new(None::<String>);
    let wizard_open = Memo::new(move |_| wizard.get().is_some());
    // Whether the person opened the wizard (rather than finding it open).
    let opened_here = StoredValue::new(false);

    let finished = Callback::new(move |codes_left: u64| {
        me.update(|user| {
            user.two_factor_enabled = true;
            user.recovery_codes_left = codes_left;
        });
        wizard.set(None);
        status.set(Some("Two-factor authentication is on.".into()));
    });
    let turned_off = Callback::new(move |()| {
        me.update(|user| {
            user.two_factor_enabled = false;
            user.recovery_codes_left = 0;
        });
        status.set(Some("Two-factor authentication is off.".into()));
    });

    view! {
        <section class="card" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">"Two-factor authentication"</h2>
            {move || {
                if wizard_open.get() {
                    let focus = opened_here.get_value();
                    EitherOf3::A(view! { <EnrolmentWizard wizard finished focus/> })
                } else if enabled.get() {
                    EitherOf3::B(view! { <TwoFactorOn status turned_off/> })
                } else {
                    EitherOf3::C(view! {
                        <p>
                            "Add a second step to signing in: after your password, a 6-digit code from an authenticator app on your phone. Someone who learns your password still can't get in."
                        </p>
                        <button class="button" type="button" on:click=move |_| {
                            status.set(None);
                            opened_here.set_value(true);
                            wizard.set(Some(Step::About));
                        }>"Set up two-factor authentication"</button>
                    })
                }
            }}
            <StatusMessage message=status/>
        </section>
    }
}

/// Get an app → scan the QR code → enter a code → save the recovery codes.
#[component]
fn EnrolmentWizard(
    wizard: RwSignal<Option<Step>>,
    finished: Callback<u64>,
    /// Focus the first step's heading (the person has just opened the wizard).
    focus: bool,
) -> impl IntoView {
    let setup = RwSignal::new(None::<TwoFactorSetup>);
    let codes = RwSignal::new(Vec::<String>::new());
    // Headings take the focus when the person opens the wizard or moves between steps,
    // not when the page loads with the wizard already open.
    let moved = RwSignal::new(focus);
    let go = move |step: Step| {
        moved.set(true);
        wizard.set(Some(step));
    };
    let cancel = move |_| wizard.set(None);
    let step = Memo::new(move |_| wizard.get().unwrap_or(Step::About));

    let start = ServerAction::<StartTwoFactor>::new();
    let start_with_password = with_recent_password(start, "two-factor");
    let start_error = Signal::derive(move || {
        start
            .value()
            .get()
            .and_then(Result::err)
            .filter(|e| *e != AppError::PasswordConfirmationRequired)
    });
    Effect::new(move |_| {
        if let Some(Ok(new_setup)) = start.value().get() {
            setup.set(Some(new_setup));
            go(Step::Scan);
        }
    });

    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let confirm_error = Signal::derive(move || confirm.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(new_codes)) = confirm.value().get() {
            codes.set(new_codes);
            go(Step::RecoveryCodes);
        }
    });

    let uri = Signal::derive(move || {
        setup.with(|setup| {
            setup
                .as_ref()
                .map(|s| s.otpauth_uri.clone())
                .unwrap_or_default()
        })
    });
    let key = move || setup.with(|setup| setup.as_ref().map(|s| s.key.clone()).unwrap_or_default());

    let body = move || {
        match step.get() {
        Step::About => view! {
            <StepHeading text="Get an authenticator app" moved/>
            <p>
                "An authenticator app shows a new 6-digit code every 30 seconds. Any app that supports time-based codes works, such as Google Authenticator, Microsoft Authenticator, 1Password or Authy."
            </p>
            <p>"Install one on your phone, then continue."</p>
            <PasswordPrompt place="two-factor"/>
            <FormAlert error=start_error/>
            <div class="button-row">
                <button
                    class="button button-primary"
                    type="button"
                    disabled=move || start.pending().get()
                    on:click=move |_| {
                        // Going back and forth keeps the key the app may already have.
                        if setup.with_untracked(Option::is_some) {
                            go(Step::Scan);
                        } else {
                            start_with_password(StartTwoFactor {});
                        }
                    }
                >
                    "Next"
                </button>
                <button class="button" type="button" on:click=cancel>"Cancel"</button>
            </div>
        }
        .into_any(),
        Step::Scan => view! {
            <StepHeading text="Scan the QR code" moved/>
            <p>"In your authenticator app, add an account and scan this code."</p>
            <div class="two-factor-scan">
                <QrCode uri label="QR code for adding ImportOps to your authenticator app".to_owned()/>
                <div class="two-factor-key">
                    <p>"Can't scan it? Choose to enter a setup key in the app and type this key:"</p>
                    <p>
                        <code class="secret-key" id="two-factor-key">{key}</code>
                    </p>
                    <CopyButton label="Copy key" text=Signal::derive(move || key().replace(' ', ""))/>
                </div>
            </div>
            <div class="button-row">
                <button class="button button-primary" type="button" on:click=move |_| go(Step::Confirm)>
                    "Next"
                </button>
                <button class="button" type="button" on:click=move |_| go(Step::About)>"Back"</button>
                <button class="button" type="button" on:click=cancel>"Cancel"</button>
            </div>
        }
        .into_any(),
        Step::Confirm => view! {
            <StepHeading text="Enter the code from the app" moved/>
            <ActionForm action=confirm attr:class="form narrow-form" attr:novalidate=true>
                <Field
                    label="Enter the 6-digit code from the app"
                    name="code"
                    id="two-factor-setup-code"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    required=true
                    error=Signal::derive(move || {
                        confirm_error.get().and_then(|e| e.field_message("code"))
                    })
                />
                <FormAlert error=confirm_error/>
                <div class="button-row">
                    <button class="button button-primary" type="submit" disabled=move || confirm.pending().get()>
                        "Save"
                    </button>
                    <button class="button" type="button" on:click=move |_| go(Step::Scan)>"Back"</button>
                    <button class="button" type="button" on:click=cancel>"Cancel"</button>
                </div>
            </ActionForm>
        }
        .into_any(),
        Step::RecoveryCodes => view! {
            <StepHeading text="Save your recovery codes" moved/>
            <p>
                "Two-factor authentication is on. If you lose your phone, each of these codes signs you in once. Keep them somewhere safe, such as your password manager: they are not shown again."
            </p>
            <RecoveryCodes
                codes=codes.get_untracked()
                done=Callback::new(move |()| finished.run(codes.with_untracked(|c| c.len() as u64)))
            />
        }
        .into_any(),
    }
    };

    view! {
        <div class="wizard" role="group" aria-label="Set up two-factor authentication">
            <ol class="steps">
                {Step::ALL
                    .into_iter()
                    .map(|each| {
                        let done = move || step.get() > each;
                        view! {
                            <li
                                class:step-done=done
                                aria-current=move || (step.get() == each).then_some("step")
                            >
                                <span class="step-number" aria-hidden="true">{each.number()}</span>
                                <span class="visually-hidden">{format!("Step {} of 4: ", each.number())}</span>
                                {each.label()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            {body}
        </div>
    }
}

/// A step's heading, which takes the focus when the person arrives at the step, so screen
/// readers announce where they are.
#[component]
fn StepHeading(text: &'static str, moved: RwSignal<bool>) -> impl IntoView {
    let heading = NodeRef::<html::H3>::new();
    Effect::new(move |_| {
        if let Some(heading) = heading.get()
            && moved.get_untracked()
        {
            let _ = heading.focus();
        }
    });
    view! {
        <h3 class="step-heading" tabindex="-1" node_ref=heading>
            {text}
        </h3>
    }
}

/// The state when two-factor authentication is on: recovery codes left, "Regenerate
/// recovery codes", and "Disable two-factor authentication" (unless the organisation
/// requires it).
#[component]
fn TwoFactorOn(status: RwSignal<Option<String>>, turned_off: Callback<()>) -> impl IntoView {
    let me = Me::get();
    let left = Memo::new(move |_| me.with(|user| user.recovery_codes_left));
    let required = Memo::new(move |_| me.with(|user| user.two_factor_required));
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let regenerate_with_password = with_recent_password(regenerate, "recovery-codes");
    let regenerate_error = Signal::derive(move || {
        regenerate
            .value()
            .get()
            .and_then(Result::err)
            .filter(|e| *e != AppError::PasswordConfirmationRequired)
    });
    let new_codes = RwSignal::new(None::<Vec<String>>);
    Effect::new(move |_| {
        if let Some(Ok(codes)) = regenerate.value().get() {
            regenerate.value().set(None);
            new_codes.set(Some(codes));
        }
    });
    let codes_done = Callback::new(move |()| {
        let count = new_codes.with_untracked(|codes| codes.as_ref().map_or(0, Vec::len));
        me.update(|user| user.recovery_codes_left = count as u64);
        new_codes.set(None);
        status.set(Some(
            "Your new recovery codes are saved. The old ones no longer work.".into(),
        ));
    });

    view! {
        <p>
            <span class="badge badge-on">"On"</span>
            " After your password, you enter a code from your authenticator app when you sign in."
        </p>
        {move || match new_codes.get() {
            Some(codes) => view! {
                <div class="recovery-panel">
                    <h3>"Your new recovery codes"</h3>
                    <p>"Each code signs you in once. Your old codes no longer work. These are not shown again."</p>
                    <RecoveryCodes codes done=codes_done/>
                </div>
            }
            .into_any(),
            None => view! {
                <div class="recovery-summary">
                    <p>
                        {move || match left.get() {
                            1 => "You have 1 recovery code left.".to_owned(),
                            n => format!("You have {n} recovery codes left."),
                        }}
                    </p>
                    <Show when=move || left.get() <= FEW_RECOVERY_CODES>
                        <p class="alert alert-warning">
                            "You're running out of recovery codes. Regenerate them so you can still sign in if you lose your phone."
                        </p>
                    </Show>
                    <PasswordPrompt place="recovery-codes"/>
                    <FormAlert error=regenerate_error/>
                    <button
                        class="button"
                        type="button"
                        disabled=move || regenerate.pending().get()
                        on:click=move |_| {
                            status.set(None);
                            regenerate_with_password(RegenerateRecoveryCodes {});
                        }
                    >
                        "Regenerate recovery codes"
                    </button>
                </div>
            }
            .into_any(),
        }}
        <Show
            when=move || !required.get()
            fallback=|| view! { <p class="muted">"Your organisation requires two-factor authentication."</p> }
        >
            <DisableTwoFactorForm status turned_off/>
        </Show>
    }
}

/// "Disable two-factor authentication": the password and a current code.
#[component]
fn DisableTwoFactorForm(
    status: RwSignal<Option<String>>,
    turned_off: Callback<()>,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let disable = ServerAction::<DisableTwoFactor>::new();
    let error = Signal::derive(move || disable.value().get().and_then(Result::err));
    let password_error = Signal::derive(move || {
        error.get().and_then(|e| match e {
            AppError::IncorrectPassword => Some(e.to_string()),
            other => other.field_message("password"),
        })
    });
    let code_error = Signal::derive(move || error.get().and_then(|e| e.field_message("code")));
    Effect::new(move |_| {
        if let Some(Ok(())) = disable.value().get() {
            editing.set(false);
            turned_off.run(());
        }
    });

    view! {
        <Show
            when=move || editing.get()
            fallback=move || view! {
                <button class="button button-danger" type="button" on:click=move |_| {
                    status.set(None);
                    editing.set(true);
                }>"Disable two-factor authentication"</button>
            }
        >
            <ActionForm action=disable attr:class="form narrow-form" attr:novalidate=true>
                <p>"Signing in will only need your password. Confirm with your password and a code from your app."</p>
                <Field
                    label="Password"
                    name="password"
                    id="two-factor-disable-password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    autofocus=true
                    error=password_error
                />
                <Field
                    label="Code from your authenticator app"
                    name="code"
                    id="two-factor-disable-code"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    required=true
                    error=code_error
                />
                <FormAlert error=Signal::derive(move || error.get().filter(|e| *e != AppError::IncorrectPassword))/>
                <div class="button-row">
                    <button class="button button-danger" type="submit" disabled=move || disable.pending().get()>
                        "Disable two-factor authentication"
                    </button>
                    <button class="button" type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
                </div>
            </ActionForm>
        </Show>
    }
}

/// Freshly made recovery codes with "Copy", "Download" and "Print", and "Done" once the
/// person ticks "I have saved these codes".
#[component]
fn RecoveryCodes(codes: Vec<String>, done: Callback<()>) -> impl IntoView {
    let me = Me::get();
    let saved = RwSignal::new(false);
    let text = codes.join("\n");
    let file = {
        let email = me.with_untracked(|user| user.email.clone());
        let list = text.clone();
        move || {
            format!(
                "ImportOps recovery codes for {email}\n\n\
                 Each code signs you in once if you can't use your authenticator app.\n\n\
                 {list}\n"
            )
        }
    };
    view! {
        <ol class="recovery-codes" aria-label="Recovery codes">
            {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
        </ol>
        <div class="button-row">
            <CopyButton label="Copy" text=Signal::stored(text)/>
            <button class="button" type="button" on:click=move |_| {
                let _ = download_text("importops-recovery-codes.txt", &file());
            }>"Download"</button>
            <button class="button" type="button" on:click=|_| print_recovery_codes()>"Print"</button>
        </div>
        <label class="checkbox">
            <input type="checkbox" on:change=move |ev| saved.set(event_target_checked(&ev))/>
            "I have saved these codes"
        </label>
        <div class="button-row">
            <button
                class="button button-primary"
                type="button"
                disabled=move || !saved.get()
                on:click=move |_| done.run(())
            >
                "Done"
            </button>
        </div>
    }
}

/// A button that copies `text` to the clipboard and says whether it worked.
#[component]
fn CopyButton(label: &'static str, #[prop(into)] text: Signal<String>) -> impl IntoView {
    let result = RwSignal::new(None::<String>);
    let copy = move |_| {
        let text = text.get_untracked();
        spawn_local(async move {
            let written = window().navigator().clipboard().write_text(&text);
            let message = match wasm_bindgen_futures::JsFuture::from(written).await {
                Ok(_) => "Copied.",
                Err(_) => "Couldn't copy. Select the text and copy it instead.",
            };
            result.set(Some(message.to_owned()));
        });
    };
    view! {
        <button class="button" type="button" on:click=copy>{label}</button>
        <StatusMessage message=result/>
    }
}

/// Saves `text` as a file through the browser's download.
fn download_text(file_name: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let link: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(file_name);
    link.click();
    // The download has started from the URL by the time this runs.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(10),
    );
    Ok(())
}

/// Prints only the recovery codes: the print stylesheet hides everything else while the
/// body carries this class.
fn print_recovery_codes() {
    let Some(body) = document().body() else {
        return;
    };
    let _ = body.class_list().add_1("printing-recovery-codes");
    let _ = window().print();
    let _ = body.class_list().remove_1("printing-recovery-codes");
}

/// The second step of signing in: a code from the app, or a recovery code instead.
#[component]
pub fn TwoFactorSignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let use_recovery = move || query.read().get("with").as_deref() == Some("recovery-code");
    let link = move |with_recovery: bool| {
        let next = crate::validation::encode_query_value(&next());
        match (with_recovery, next.is_empty()) {
            (true, true) => "/login/two-factor?with=recovery-code".to_owned(),
            (true, false) => format!("/login/two-factor?with=recovery-code&next={next}"),
            (false, true) => "/login/two-factor".to_owned(),
            (false, false) => format!("/login/two-factor?next={next}"),
        }
    };
    let sign_out = ServerAction::<SignOut>::new();
    navigate_on_success(sign_out.value());

    view! {
        <Title text="Two-factor authentication"/>
        <AuthCard>
            <h1>"Two-factor authentication"</h1>
            <Show
                when=use_recovery
                fallback=move || view! {
                    <CodeForm next/>
                    <p class="auth-switch">
                        "Lost your phone? " <a href=move || link(true)>"Use a recovery code instead"</a>
                    </p>
                }
            >
                <RecoveryCodeForm next/>
                <p class="auth-switch">
                    <a href=move || link(false)>"Use a code from your app instead"</a>
                </p>
            </Show>
            <ActionForm action=sign_out attr:class="auth-sign-out">
                <button class="button button-quiet" type="submit">"Sign out"</button>
            </ActionForm>
        </AuthCard>
    }
}

#[component]
fn CodeForm(next: impl Fn() -> String + Send + Sync + Copy + 'static) -> impl IntoView {
    let verify = ServerAction::<VerifyTwoFactor>::new();
    navigate_on_success(verify.value());
    let error = Signal::derive(move || verify.value().get().and_then(Result::err));
    view! {
        <p class="lead">"Enter the 6-digit code from your authenticator app."</p>
        <FormAlert error/>
        <ActionForm action=verify attr:class="form" attr:novalidate=true>
            <input type="hidden" name="next" value=next/>
            <Field
                label="Authentication code"
                name="code"
                inputmode="numeric"
                autocomplete="one-time-code"
                required=true
                autofocus=true
                error=Signal::derive(move || error.get().and_then(|e| e.field_message("code")))
            />
            <button class="button button-primary" type="submit" disabled=move || verify.pending().get()>
                "Verify"
            </button>
        </ActionForm>
    }
}

#[component]
fn RecoveryCodeForm(next: impl Fn() -> String + Send + Sync + Copy + 'static) -> impl IntoView {
    let verify = ServerAction::<VerifyRecoveryCode>::new();
    navigate_on_success(verify.value());
    let error = Signal::derive(move || verify.value().get().and_then(Result::err));
    view! {
        <p class="lead">"Enter one of the recovery codes you saved when you set up two-factor authentication. Each code works once."</p>
        <FormAlert error/>
        <ActionForm action=verify attr:class="form" attr:novalidate=true>
            <input type="hidden" name="next" value=next/>
            <Field
                label="Recovery code"
                name="recovery_code"
                autocomplete="off"
                required=true
                autofocus=true
                error=Signal::derive(move || error.get().and_then(|e| e.field_message("recovery_code")))
            />
            <button class="button button-primary" type="submit" disabled=move || verify.pending().get()>
                "Verify"
            </button>
        </ActionForm>
    }
}
