//! What the browser and the server exchange: shared types and the `#[server]` functions.
//!
//! Server functions are public HTTP endpoints under `/api/`. Each one authenticates and
//! authorises on its own (through [`crate::backend::request::Ctx`]), parses its input into
//! domain types, calls the domain, and maps the result; the rules live in
//! [`crate::backend`].

mod auth;
mod email;
mod profile;
mod security;
mod team;
mod two_factor;

pub use auth::*;
pub use email::*;
pub use profile::*;
pub use security::*;
pub use team::*;
pub use two_factor::*;

use serde::{Deserialize, Serialize};

/// A person's role in their organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Created the organisation; can do everything an admin can.
    Owner,
    /// Manages the team's security.
    Admin,
    Member,
}

impl Role {
    /// The identifier stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn from_stored(value: &str) -> Option<Role> {
        match value {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// The word shown in the product.
    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }

    /// Whether the role may manage the team's security.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// Why a session was ended from elsewhere; the sign-in page tells the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndReason {
    /// The password was changed on another device.
    PasswordChanged,
    /// Signed out from the sessions list on another device.
    SignedOutElsewhere,
    /// The email address was put back with the "This wasn't me" link.
    EmailRestored,
}

impl EndReason {
    /// The identifier stored with the session and used in the sign-in page's address.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::PasswordChanged => "password_changed",
            EndReason::SignedOutElsewhere => "signed_out",
            EndReason::EmailRestored => "email_restored",
        }
    }

    pub fn from_stored(value: &str) -> Option<EndReason> {
        match value {
            "password_changed" => Some(EndReason::PasswordChanged),
            "signed_out" => Some(EndReason::SignedOutElsewhere),
            "email_restored" => Some(EndReason::EmailRestored),
            _ => None,
        }
    }

    /// What the sign-in page says.
    pub fn message(self) -> &'static str {
        match self {
            EndReason::PasswordChanged => "Your password was changed. Sign in again.",
            EndReason::SignedOutElsewhere => {
                "You were signed out from another device. Sign in again to continue."
            }
            EndReason::EmailRestored => {
                "Your email address was restored and every session was signed out. Sign in again."
            }
        }
    }
}

/// The signed-in person, as the pages show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub organisation_name: String,
    /// The profile picture, or `None` to show initials.
    pub avatar_url: Option<String>,
    /// A new address waiting for its confirmation link to be used.
    pub pending_email: Option<String>,
    pub two_factor_enabled: bool,
    /// The organisation requires two-factor authentication (it cannot be turned off).
    pub two_factor_required: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u64,
}

impl CurrentUser {
    pub fn full_name(&self) -> String {
        full_name(&self.first_name, &self.last_name)
    }

    pub fn initials(&self) -> String {
        initials(&self.first_name, &self.last_name)
    }
}

/// A member of the organisation, as Settings → Team & roles lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub is_you: bool,
    pub avatar_url: Option<String>,
}

impl TeamMember {
    pub fn full_name(&self) -> String {
        full_name(&self.first_name, &self.last_name)
    }

    pub fn initials(&self) -> String {
        initials(&self.first_name, &self.last_name)
    }
}

fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}

/// The first character of each name, upper-cased where the script has case: "Élodie Ñúñez"
/// gives "ÉÑ", "李 小龍" gives "李小".
pub fn initials(first: &str, last: &str) -> String {
    [first, last]
        .iter()
        .filter_map(|name| name.trim().chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_work_in_any_script() {
        assert_eq!(initials("ana", "lópez"), "AL");
        assert_eq!(initials("élodie", "ñúñez"), "ÉÑ");
        assert_eq!(initials("李", "小龍"), "李小");
        assert_eq!(initials("", "Solo"), "S");
    }

    #[test]
    fn roles_round_trip_through_storage() {
        for role in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::from_stored(role.as_str()), Some(role));
        }
        assert_eq!(Role::from_stored("root"), None);
    }
}
