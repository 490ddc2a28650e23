//! "Upload avatar" / "Replace avatar" / "Remove avatar".
//!
//! Choosing a file (or dropping one) first shows a preview of exactly the square the server
//! will keep: the image is shown centred and cropped to a square (`object-fit: cover`),
//! upright as its EXIF orientation says, which is what the server's pipeline produces.
//! Nothing is sent until the person confirms; the upload then reports real byte progress.

use super::{Avatar, Me};
use crate::{api::RemoveAvatar, error::AppError, validation::AVATAR_MAX_BYTES};
use leptos::{html, prelude::*};
use send_wrapper::SendWrapper;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{DragEvent, File, FormData, HtmlInputElement, ProgressEvent, Url, XmlHttpRequest};

const ACCEPTED_TYPES: &str = "image/jpeg,image/png,image/webp,image/gif";

#[component]
pub fn AvatarEditor() -> impl IntoView {
    let me = Me::get();
    let input = NodeRef::<html::Input>::new();
    // Browser objects are not thread-safe; the wrapper is only ever created in the browser
    // (on the server this stays `None`), where everything runs on one thread.
    let chosen: StoredValue<Option<SendWrapper<File>>> = StoredValue::new(None);
    let preview = RwSignal::new(None::<String>);
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<String>);
    let dragging = RwSignal::new(false);
    let remove = ServerAction::<RemoveAvatar>::new();

    let has_avatar = move || me.with(|user| user.avatar_url.is_some());

    let discard_preview = move || {
        if let Some(url) = preview.get_untracked() {
            let _ = Url::revoke_object_url(&url);
        }
        preview.set(None);
        chosen.set_value(None);
    };

    let choose = move |file: File| {
        status.set(None);
        error.set(None);
        discard_preview();
        if let Err(message) = check_file(&file) {
            error.set(Some(message));
            return;
        }
        match Url::create_object_url_with_blob(&file) {
            Ok(url) => {
                preview.set(Some(url));
                chosen.set_value(Some(SendWrapper::new(file)));
            }
            Err(_) => error.set(Some("Your browser could not open that file.".into())),
        }
    };

    let on_change = move |ev: leptos::ev::Event| {
        let target: HtmlInputElement = event_target(&ev);
        if let Some(file) = target.files().and_then(|files| files.get(0)) {
            choose(file);
        }
        // Allows choosing the same file again after cancelling.
        target.set_value("");
    };

    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(file) = ev
            .data_transfer()
            .and_then(|data| data.files())
            .and_then(|files| files.get(0))
        {
            choose(file);
        }
    };

    let save = move |_| {
        let Some(file) = chosen.get_value().map(SendWrapper::take) else {
            return;
        };
        error.set(None);
        progress.set(Some(0.0));
        let finished = move |result: Result<String, AppError>| {
            progress.set(None);
            discard_preview();
            match result {
                Ok(url) => {
                    me.update(|user| user.avatar_url = Some(url));
                    status.set(Some("Avatar updated.".into()));
                }
                Err(problem) => error.set(Some(problem.to_string())),
            }
        };
        if upload(
            &file,
            move |fraction| progress.set(Some(fraction)),
            finished,
        )
        .is_err()
        {
            progress.set(None);
            error.set(Some(AppError::Network.to_string()));
        }
    };

    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            me.update(|user| user.avatar_url = None);
            status.set(Some("Avatar removed.".into()));
        }
        Some(Err(problem)) => error.set(Some(problem.to_string())),
        None => {}
    });

    view! {
        <div
            class="avatar-editor"
            class:dragging=move || dragging.get()
            on:dragover=move |ev: DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <Show
                when=move || preview.get().is_some()
                fallback=move || {
                    view! {
                        <Avatar
                            initials=Signal::derive(move || me.with(|user| user.initials()))
                            url=Signal::derive(move || me.with(|user| user.avatar_url.clone()))
                            large=true
                        />
                    }
                }
            >
                <img
                    class="avatar-preview"
                    src=move || preview.get().unwrap_or_default()
                    alt="Preview of your new avatar, cropped to a square"
                />
            </Show>
            <div class="avatar-actions">
                <input
                    node_ref=input
                    id="avatar-file"
                    type="file"
                    accept=ACCEPTED_TYPES
                    class="visually-hidden"
                    tabindex="-1"
                    aria-hidden="true"
                    on:change=on_change
                />
                <Show
                    when=move || preview.get().is_some()
                    fallback=move || {
                        view! {
                            <button
                                type="button"
                                class="button"
                                on:click=move |_| {
                                    if let Some(input) = input.get() {
                                        input.click();
                                    }
                                }
                            >
                                {move || if has_avatar() { "Replace avatar" } else { "Upload avatar" }}
                            </button>
                            <Show when=has_avatar>
                                <ActionForm action=remove>
                                    <button type="submit" class="button button-quiet">
                                        "Remove avatar"
                                    </button>
                                </ActionForm>
                            </Show>
                            <p class="field-hint">
                                "JPEG, PNG, WebP or GIF, up to 10 MB. You can also drop an image here."
                            </p>
                        }
                    }
                >
                    <p class="field-hint">"This is how your avatar will look."</p>
                    <div class="button-row">
                        <button
                            type="button"
                            class="button button-primary"
                            disabled=move || progress.get().is_some()
                            on:click=save
                        >
                            "Save avatar"
                        </button>
                        <button
                            type="button"
                            class="button"
                            disabled=move || progress.get().is_some()
                            on:click=move |_| discard_preview()
                        >
                            "Cancel"
                        </button>
                    </div>
                </Show>
                {move || {
                    progress.get().map(|fraction| {
                        view! {
                            <progress
                                class="upload-progress"
                                max="100"
                                value=format!("{:.0}", fraction * 100.0)
                                aria-label="Uploading avatar"
                            ></progress>
                        }
                    })
                }}
                <p class="field-error" role="alert">{move || error.get()}</p>
                <p class="status-message" role="status">{move || status.get()}</p>
            </div>
        </div>
    }
}

/// The browser-side checks, for an immediate answer; the server checks again from the bytes.
fn check_file(file: &File) -> Result<(), String> {
    let size = file.size();
    if size > AVATAR_MAX_BYTES as f64 {
        return Err("That file is larger than 10 MB. Choose a smaller image.".into());
    }
    if size == 0.0 {
        return Err("That file is empty.".into());
    }
    Ok(())
}

/// Sends the file to `POST /account/avatar` with `XMLHttpRequest`, the one browser API that
/// reports upload progress. `on_progress` gets the fraction sent; `on_done` the new URL or
/// the server's error.
fn upload(
    file: &File,
    on_progress: impl Fn(f64) + 'static,
    on_done: impl FnOnce(Result<String, AppError>) + 'static,
) -> Result<(), wasm_bindgen::JsValue> {
    let request = XmlHttpRequest::new()?;
    request.open("POST", "/account/avatar")?;
    request.set_request_header("Accept", "application/json")?;
    let form = FormData::new()?;
    form.append_with_blob_and_filename("avatar", file, &file.name())?;

    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        if event.length_computable() && event.total() > 0.0 {
            on_progress(event.loaded() / event.total());
        }
    });
    request
        .upload()?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));

    let finished_request = request.clone();
    // Runs once when the request ends in any way; it owns the progress callback, which is
    // released with it.
    let finished = Closure::once_into_js(move || {
        drop(progress);
        let status = finished_request.status().unwrap_or(0);
        let body = finished_request
            .response_text()
            .ok()
            .flatten()
            .unwrap_or_default();
        on_done(interpret(status, &body));
    });
    request.set_onloadend(Some(finished.unchecked_ref()));
    request.send_with_opt_form_data(Some(&form))
}

fn interpret(status: u16, body: &str) -> Result<String, AppError> {
    #[derive(serde::Deserialize)]
    struct Uploaded {
        avatar_url: String,
    }
    match status {
        200 => serde_json::from_str::<Uploaded>(body)
            .map(|u| u.avatar_url)
            .map_err(|_| AppError::Network),
        0 => Err(AppError::Network),
        _ => Err(serde_json::from_str::<AppError>(body).unwrap_or(AppError::Network)),
    }
}
