//! Settings → Account and Settings → Team & roles.

use crate::{
    api::{CurrentUser, TeamMember, team_members},
    components::{Avatar, CurrentUserResource, TopBar},
    error::AppError,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::components::{A, Outlet};

/// The frame around every settings page: top bar, section navigation, content.
#[component]
pub fn SettingsLayout() -> impl IntoView {
    provide_context(CurrentUserResource::new());
    view! {
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
    }
}

/// Settings → Account.
#[component]
pub fn AccountPage() -> impl IntoView {
    let me = CurrentUserResource::get().0;
    view! {
        <Title text="Account"/>
        <h1>"Account"</h1>
        <p class="lead">"Manage your personal account."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => Either::Left(view! { <ProfileSummary user/> }),
                    Ok(None) => Either::Right(view! { <ErrorNotice error=AppError::Unauthenticated/> }),
                    Err(error) => Either::Right(view! { <ErrorNotice error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProfileSummary(user: CurrentUser) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="profile-heading">
            <div class="card-header">
                <Avatar initials=user.initials() large=true/>
                <div>
                    <h2 id="profile-heading">"Your profile"</h2>
                    <p class="muted">{user.organisation_name.clone()}</p>
                </div>
            </div>
            <dl class="details">
                <div>
                    <dt>"Name"</dt>
                    <dd>{user.full_name()}</dd>
                </div>
                <div>
                    <dt>"Email"</dt>
                    <dd>{user.email.clone()}</dd>
                </div>
                <div>
                    <dt>"Role"</dt>
                    <dd>{user.role.label()}</dd>
                </div>
            </dl>
        </section>
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
                            view! {
                                <tr>
                                    <td>
                                        <span class="member">
                                            <Avatar initials=member.initials()/>
                                            <span>{member.full_name()}</span>
                                            {member.is_you.then(|| view! { <span class="badge">"You"</span> })}
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
fn ErrorNotice(error: AppError) -> impl IntoView {
    if error == AppError::Unauthenticated {
        Effect::new(move |_| {
            let location = window().location();
            let here = location.pathname().unwrap_or_default();
            let _ = location.set_href(&crate::validation::login_path(&here));
        });
    }
    view! { <p class="alert alert-error" role="alert">{error.to_string()}</p> }
}
