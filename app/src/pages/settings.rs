//! The frame around the settings pages, and Settings → Team & roles.

use crate::{
    api::{TeamMember, load_current_user, team_members},
    components::{Avatar, Me, TopBar},
    error::AppError,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::components::{A, Outlet};

/// Top bar, section navigation and content. The signed-in person is loaded here, during
/// server rendering, and shared with everything inside as [`Me`].
#[component]
pub fn SettingsLayout() -> impl IntoView {
    // Provided now, so that every page inside finds it whenever it renders.
    let current = Me::new();
    provide_context(current);
    let me = Resource::new(|| (), |_| load_current_user());
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => {
                        current.set(user);
                        Either::Left(view! {
                            <TopBar/>
                            <div class="settings">
                                <nav class="settings-nav" aria-label="Settings">
                                    <p class="settings-nav-title">"Settings"</p>
                                    <A href="/settings/account">"Account"</A>
                                    <A href="/settings/team">"Team & roles"</A>
                                </nav>
                                <main id="main" class="settings-main">
                                    <Outlet/>
                                </main>
                            </div>
                        })
                    }
                    Ok(None) => Either::Right(view! {
                        <main id="main" class="not-found">
                            <ErrorNotice error=AppError::Unauthenticated/>
                        </main>
                    }),
                    Err(error) => Either::Right(view! {
                        <main id="main" class="not-found">
                            <ErrorNotice error/>
                        </main>
                    }),
                }
            })}
        </Transition>
    }
}

/// Settings → Team & roles.
#[component]
pub fn TeamPage() -> impl IntoView {
    let members = Resource::new(|| (), |_| team_members());
    view! {
        <Title text="Team & roles"/>
        <h1>"Team & roles"</h1>
        <p class="lead">"Everyone in your organisation and their role."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match members.await {
                    Ok(members) => Either::Left(view! { <MemberTable members/> }),
                    Err(error) => Either::Right(view! { <ErrorNotice error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn MemberTable(members: Vec<TeamMember>) -> impl IntoView {
    let me = Me::get();
    let count = members.len();
    view! {
        <section class="card" aria-labelledby="members-heading">
            <h2 id="members-heading">
                "Members " <span class="count">{count}</span>
            </h2>
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                    </tr>
                </thead>
                <tbody>
                    {members
                        .into_iter()
                        .map(|member| {
                            // Your own row follows your changes at once.
                            let is_you = member.is_you;
                            let initials = member.initials();
                            let avatar = member.avatar_url.clone();
                            let name = member.full_name();
                            view! {
                                <tr>
                                    <td>
                                        <span class="member">
                                            <Avatar
                                                initials=Signal::derive(move || {
                                                    if is_you { me.with(|u| u.initials()) } else { initials.clone() }
                                                })
                                                url=Signal::derive(move || {
                                                    if is_you { me.with(|u| u.avatar_url.clone()) } else { avatar.clone() }
                                                })
                                            />
                                            <span>
                                                {move || if is_you { me.with(|u| u.full_name()) } else { name.clone() }}
                                            </span>
                                            {is_you.then(|| view! { <span class="badge">"You"</span> })}
                                        </span>
                                    </td>
                                    <td>{member.email.clone()}</td>
                                    <td>{member.role.label()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// Shows an error that stopped a page from loading. An ended session sends the person to
/// sign in, returning them here afterwards.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let message = error.to_string();
    Effect::new(move |_| {
        crate::components::sign_in_again_if_needed(&error);
    });
    view! { <p class="alert alert-error" role="alert">{message}</p> }
}
