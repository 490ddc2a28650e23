//! Settings → Account: "Password", "Sessions" and "Recent security activity".

use crate::{
    api::{
        ActivityEntry, ChangePassword, PasswordFeedback, RevokeOtherSessions, RevokeSession,
        SecurityActivity, SessionInfo, list_sessions, password_strength, security_activity,
    },
    components::{
        Field, FormAlert, LocalTime, Me, PasswordPrompt, StatusMessage, with_recent_password,
    },
    error::AppError,
};
use leptos::{either::Either, prelude::*, task::spawn_local};
use std::time::Duration;

/// Counts the changes made on this page to the account's security (a new password, a
/// session signed out), so the lists of sessions and activity reload after each one.
#[derive(Clone, Copy)]
pub struct SecurityChanges(RwSignal<u64>);

impl SecurityChanges {
    pub fn provide() {
        provide_context(SecurityChanges(RwSignal::new(0)));
    }

    fn get() -> Self {
        use_context().unwrap_or_else(|| SecurityChanges(RwSignal::new(0)))
    }

    fn record(self) {
        self.0.update(|n| *n += 1);
    }

    fn track(self) -> u64 {
        self.0.get()
    }
}

/// Runs `refetch` in the browser after each change recorded in `changes` (not for the
/// count the page starts with). The lists' resources themselves depend on nothing new, so
/// server rendering is unaffected.
fn refetch_on_change(changes: SecurityChanges, refetch: impl Fn() + 'static) {
    Effect::new(move |previous: Option<u64>| {
        let now = changes.track();
        if previous.is_some_and(|previous| previous != now) {
            refetch();
        }
        now
    });
}

/// "Change password": current password, new password twice, "Save".
#[component]
pub fn PasswordSection() -> impl IntoView {
    let me = Me::get();
    let two_factor_on = Memo::new(move |_| me.with(|user| user.two_factor_enabled));
    let editing = RwSignal::new(false);
    let status = RwSignal::new(None::<String>);
    let change = ServerAction::<ChangePassword>::new();
    let new_password = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let feedback = RwSignal::new(None::<PasswordFeedback>);
    let pending_check = StoredValue::new(None::<TimeoutHandle>);
    let checks = StoredValue::new(0u64);

    let server_error = Signal::derive(move || change.value().get().and_then(Result::err));
    let field_error = move |field: &'static str| {
        Signal::derive(move || {
            server_error
                .get()
                .and_then(|e: AppError| e.field_message(field))
        })
    };
    let mismatch =
        move || !confirmation.get().is_empty() && confirmation.get() != new_password.get();
    let confirm_error = Signal::derive(move || {
        if mismatch() {
            Some("The two new passwords don't match.".to_owned())
        } else {
            field_error("confirm_password").get()
        }
    });

    // Asks the server how strong the new password is, a moment after typing stops; only
    // the latest answer is shown.
    let on_new_password = Callback::new(move |value: String| {
        new_password.set(value.clone());
        if let Some(handle) = pending_check.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
                checks.update_value(|n| *n += 1);
                let this_check = checks.get_value();
                spawn_local(async move {
                    let answer = password_strength(value).await.ok();
                    if checks.get_value() == this_check {
                        feedback.set(answer);
                    }
                });
            },
            Duration::from_millis(250),
        );
        pending_check.set_value(handle.ok());
    });

    let changes = SecurityChanges::get();
    Effect::new(move |_| {
        if let Some(Ok(())) = change.value().get() {
            changes.record();
            editing.set(false);
            new_password.set(String::new());
            confirmation.set(String::new());
            feedback.set(None);
            status.set(Some(
                "Your password was changed. You're still signed in here; other devices were signed out."
                    .into(),
            ));
        }
    });

    view! {
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <p class="muted">"Use a long password that you don't use anywhere else."</p>
                    <button class="button" type="button" on:click=move |_| {
                        status.set(None);
                        editing.set(true);
                    }>"Change password"</button>
                }
            >
                <ActionForm action=change attr:class="form narrow-form" attr:novalidate=true>
                    <Field
                        label="Current password"
                        name="current_password"
                        id="password-current"
                        kind="password"
                        autocomplete="current-password"
                        required=true
                        autofocus=true
                        error=field_error("current_password")
                    />
                    <Field
                        label="New password"
                        name="new_password"
                        kind="password"
                        autocomplete="new-password"
                        hint="At least 12 characters. A few unrelated words make a strong password."
                        required=true
                        error=field_error("new_password")
                        on_input=on_new_password
                    />
                    <StrengthMeter feedback shown=field_error("new_password")/>
                    <Field
                        label="Confirm new password"
                        name="confirm_password"
                        kind="password"
                        autocomplete="new-password"
                        required=true
                        error=confirm_error
                        on_input=Callback::new(move |value| confirmation.set(value))
                    />
                    <Show when=move || two_factor_on.get()>
                        <Field
                            label="Code from your authenticator app"
                            name="code"
                            id="password-code"
                            inputmode="numeric"
                            autocomplete="one-time-code"
                            required=true
                            error=field_error("code")
                        />
                    </Show>
                    <FormAlert error=server_error/>
                    <div class="button-row">
                        <button
                            class="button button-primary"
                            type="submit"
                            disabled=move || change.pending().get() || mismatch()
                        >
                            "Save"
                        </button>
                        <button class="button" type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
                    </div>
                </ActionForm>
            </Show>
            <StatusMessage message=status/>
        </section>
    }
}

/// The strength meter under "New password". Its advice is left out while the field already
/// shows the same words as the server's refusal.
#[component]
fn StrengthMeter(
    feedback: RwSignal<Option<PasswordFeedback>>,
    shown: Signal<Option<String>>,
) -> impl IntoView {
    let score = move || feedback.get().map_or(0, |f| f.score);
    let advice = move || {
        feedback
            .get()
            .and_then(|f| f.problem)
            .filter(|problem| shown.get().as_ref() != Some(problem))
    };
    view! {
        <div class="strength" aria-live="polite">
            <meter
                min="0"
                max="4"
                low="2"
                high="3"
                optimum="4"
                value=move || score().to_string()
                aria-label="Password strength"
            ></meter>
            <span class="strength-verdict">
                {move || feedback.get().map(|f| f.verdict).filter(|v| !v.is_empty()).map(|v| format!("Strength: {v}"))}
            </span>
            <p class="field-hint">{advice}</p>
        </div>
    }
}

/// "Sessions": every browser signed in to this account, with "Sign out" for each other one.
#[component]
pub fn SessionsSection() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let revoke_others = ServerAction::<RevokeOtherSessions>::new();
    let sign_out_one = with_recent_password(revoke, "sessions");
    let sign_out_others = with_recent_password(revoke_others, "sessions");
    let changes = SecurityChanges::get();
    let sessions = Resource::new(
        move || (revoke.version().get(), revoke_others.version().get()),
        |_| list_sessions(),
    );
    refetch_on_change(changes, move || sessions.refetch());
    // Signing a session out shows up in the activity list too.
    Effect::new(move |previous: Option<(usize, usize)>| {
        let now = (revoke.version().get(), revoke_others.version().get());
        if previous.is_some_and(|previous| previous != now) {
            changes.record();
        }
        now
    });
    let status = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(())) => status.set(Some("The session was signed out.".into())),
        Some(Err(AppError::PasswordConfirmationRequired)) | None => {}
        Some(Err(problem)) => error.set(Some(problem)),
    });
    Effect::new(move |_| match revoke_others.value().get() {
        Some(Ok(count)) => status.set(Some(match count {
            0 => "There were no other sessions.".into(),
            1 => "1 other session was signed out.".into(),
            n => format!("{n} other sessions were signed out."),
        })),
        Some(Err(AppError::PasswordConfirmationRequired)) | None => {}
        Some(Err(problem)) => error.set(Some(problem)),
    });

    view! {
        <section class="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p class="muted">"Where you're signed in. Sign out of anything you don't recognise."</p>
            <PasswordPrompt place="sessions"/>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => {
                            let others = list.iter().filter(|s| !s.this_device).count();
                            Either::Left(view! {
                                <ul class="session-list">
                                    {list
                                        .into_iter()
                                        .map(|session| view! { <SessionRow session sign_out=sign_out_one/> })
                                        .collect_view()}
                                </ul>
                                {(others > 0).then(|| view! {
                                    <button class="button" type="button" on:click=move |_| {
                                        status.set(None);
                                        error.set(None);
                                        sign_out_others(RevokeOtherSessions {});
                                    }>"Sign out all other sessions"</button>
                                })}
                            })
                        }
                        Err(problem) => Either::Right(view! { <FormAlert error=Signal::derive(move || Some(problem.clone()))/> }),
                    }
                })}
            </Transition>
            <FormAlert error/>
            <StatusMessage message=status/>
        </section>
    }
}

#[component]
fn SessionRow(
    session: SessionInfo,
    sign_out: impl Fn(RevokeSession) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = session.id;
    let label = format!("Sign out {}", session.device);
    view! {
        <li class="session">
            <div class="session-what">
                <strong>{session.device.clone()}</strong>
                {session.this_device.then(|| view! { <span class="badge">"This device"</span> })}
                <span class="session-meta">
                    {session.ip.clone().map(|ip| format!("{ip} · "))}
                    "Signed in " <LocalTime millis=session.signed_in_at/>
                    " · Last active " <LocalTime millis=session.last_active_at/>
                </span>
            </div>
            {(!session.this_device).then(|| view! {
                <button class="button" type="button" aria-label=label on:click=move |_| {
                    sign_out(RevokeSession { session_id: id });
                }>"Sign out"</button>
            })}
        </li>
    }
}

/// "Recent security activity": the person's own security events, newest first.
#[component]
pub fn ActivitySection() -> impl IntoView {
    let changes = SecurityChanges::get();
    let first = Resource::new(|| (), |_| security_activity(None));
    let more = ServerAction::<SecurityActivity>::new();
    let extra = RwSignal::new(Vec::<ActivityEntry>::new());
    let next = RwSignal::new(None::<Option<i64>>);
    // After a change the list starts again from the newest entry.
    refetch_on_change(changes, move || {
        extra.set(Vec::new());
        next.set(None);
        first.refetch();
    });
    Effect::new(move |_| {
        if let Some(Ok(page)) = more.value().get() {
            extra.update(|entries| entries.extend(page.entries));
            next.set(Some(page.next));
        }
    });

    view! {
        <section class="card" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Recent security activity"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match first.await {
                        Ok(page) => {
                            let first_next = page.next;
                            let cursor = move || next.get().unwrap_or(first_next);
                            Either::Left(view! {
                                <table class="table activity">
                                    <thead>
                                        <tr>
                                            <th scope="col">"When"</th>
                                            <th scope="col">"Event"</th>
                                            <th scope="col">"Device"</th>
                                            <th scope="col">"IP address"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.entries.into_iter().map(|entry| view! { <ActivityRow entry/> }).collect_view()}
                                        <For each=move || extra.get() key=|entry| entry.id let:entry>
                                            <ActivityRow entry/>
                                        </For>
                                    </tbody>
                                </table>
                                <Show when=move || cursor().is_some()>
                                    <button
                                        class="button"
                                        type="button"
                                        disabled=move || more.pending().get()
                                        on:click=move |_| {
                                            more.dispatch(SecurityActivity { before: cursor() });
                                        }
                                    >"Show older activity"</button>
                                </Show>
                            })
                        }
                        Err(problem) => Either::Right(view! { <FormAlert error=Signal::derive(move || Some(problem.clone()))/> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ActivityRow(entry: ActivityEntry) -> impl IntoView {
    view! {
        <tr>
            <td><LocalTime millis=entry.at/></td>
            <td>{entry.event}</td>
            <td>{entry.device.unwrap_or_else(|| "—".into())}</td>
            <td>{entry.ip.unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}
