//! Input rules shared by the browser and the server.
//!
//! The browser runs them for immediate feedback; the server runs them again on every
//! request, because server functions are public endpoints and the browser can be skipped.

use crate::error::FieldError;
use email_address::{EmailAddress, Options};

/// The longest address accepted (RFC 5321's practical limit for a forward path).
pub const EMAIL_MAX_LEN: usize = 254;
/// Names are shown in menus and lists; this keeps them readable.
pub const NAME_MAX_CHARS: usize = 100;
/// Password limits, counted in Unicode code points after NFKC normalisation.
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;
/// The largest picture upload accepted.
pub const AVATAR_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Anything longer than this is refused before normalising or hashing, so a megabyte of
/// input costs nothing. 128 code points are at most 512 bytes of UTF-8.
pub const PASSWORD_MAX_BYTES: usize = 4 * PASSWORD_MAX_CHARS;

/// A person's first or last name, or an organisation's name: trimmed, 1 to 100 characters of
/// any script, no control characters.
pub fn name(field: &str, label: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, format!("Enter your {label}.")));
    }
    if trimmed.chars().count() > NAME_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("Use at most {NAME_MAX_CHARS} characters for your {label}."),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err(FieldError::new(
            field,
            format!("Your {label} can't contain control characters or invisible formatting marks."),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Characters that show nothing yet change what is displayed or typed: zero-width spaces,
/// the byte order mark, line and paragraph separators and text-direction overrides (which
/// can make a name read backwards in a list). The zero-width joiner and non-joiner stay
/// allowed: Persian, Indic scripts and emoji are written with them.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' // zero-width space
            | '\u{200E}' | '\u{200F}' // direction marks
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202A}'..='\u{202E}' // embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // isolates
            | '\u{FEFF}' // byte order mark
    )
}

/// An organisation name follows the same rules as a person's name.
pub fn organisation_name(field: &str, value: &str) -> Result<String, FieldError> {
    name(field, "organisation name", value)
}

/// An email address: trimmed, at most 254 characters, no CR, LF or NUL, and a real address
/// (a local part and a domain with at least two labels, no display name, no IP literal).
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "Enter your email address."));
    }
    if trimmed.len() > EMAIL_MAX_LEN {
        return Err(FieldError::new(
            field,
            format!("Email addresses can be at most {EMAIL_MAX_LEN} characters."),
        ));
    }
    let options = Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    if trimmed.contains(['\r', '\n', '\0'])
        || EmailAddress::parse_with_options(trimmed, options).is_err()
    {
        return Err(FieldError::new(
            field,
            "Enter an email address in the form name@example.com.",
        ));
    }
    Ok(trimmed.to_owned())
}

/// The key that makes addresses unique regardless of case: "Ana@Example.COM" and
/// "ana@example.com" are the same account.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The length rules for a new password, as far as the browser can check them cheaply. The
/// server additionally normalises (NFKC) and applies the blocklist and context rules.
pub fn new_password_length(field: &str, value: &str) -> Result<(), FieldError> {
    if value.len() > PASSWORD_MAX_BYTES || value.chars().count() > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("Use at most {PASSWORD_MAX_CHARS} characters."),
        ));
    }
    if value.chars().count() < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(
            field,
            format!("Use at least {PASSWORD_MIN_CHARS} characters."),
        ));
    }
    Ok(())
}

/// The shape of a code from an authenticator app: six digits, spaces and dashes ignored.
/// Whether it is the right code is for the server alone to say.
pub fn one_time_code(field: &str, value: &str) -> Result<(), FieldError> {
    let digits = significant_chars(value);
    if digits.len() == 6 && digits.iter().all(char::is_ascii_digit) {
        Ok(())
    } else if digits.is_empty() {
        Err(FieldError::new(
            field,
            "Enter the 6-digit code from your authenticator app.",
        ))
    } else {
        Err(FieldError::new(
            field,
            "The code is 6 digits. Enter the newest code from your authenticator app.",
        ))
    }
}

/// The shape of a recovery code: ten letters and digits, spaces and dashes ignored.
pub fn recovery_code(field: &str, value: &str) -> Result<(), FieldError> {
    let chars = significant_chars(value);
    if chars.len() == 10 && chars.iter().all(char::is_ascii_alphanumeric) {
        Ok(())
    } else if chars.is_empty() {
        Err(FieldError::new(field, "Enter one of your recovery codes."))
    } else {
        Err(FieldError::new(
            field,
            "A recovery code is 10 letters and digits, like 7kq2m-x9d4p.",
        ))
    }
}

fn significant_chars(value: &str) -> Vec<char> {
    value
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .take(64)
        .collect()
}

/// Accepts only a same-origin path for the page to open after signing in: it must start with
/// a single `/`, and must not smuggle a scheme or host through backslashes or control
/// characters. Anything else falls back to the account settings.
pub fn safe_next_path(next: Option<&str>) -> String {
    const DEFAULT: &str = "/settings/account";
    let Some(next) = next.map(str::trim).filter(|n| !n.is_empty()) else {
        return DEFAULT.to_owned();
    };
    let acceptable = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.len() <= 2048;
    if acceptable {
        next.to_owned()
    } else {
        DEFAULT.to_owned()
    }
}

/// The page that asks for the second factor, set to continue to `path` afterwards.
pub fn second_factor_path(path: &str) -> String {
    format!("/login/two-factor?next={}", encode_query_value(path))
}

/// The sign-in page, set to come back to `path` afterwards, and saying why the session
/// ended when it was ended from elsewhere.
pub fn login_path(path: &str, ended: Option<crate::api::EndReason>) -> String {
    let encoded = encode_query_value(path);
    match ended {
        Some(reason) => format!("/login?next={encoded}&ended={}", reason.as_str()),
        None => format!("/login?next={encoded}"),
    }
}

/// Percent-encodes a path for use as a query value (keeps `/` readable).
pub fn encode_query_value(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shapes_are_checked_before_any_attempt_counts() {
        assert!(one_time_code("code", "123 456").is_ok());
        assert!(one_time_code("code", "123-456").is_ok());
        assert!(
            one_time_code("code", "")
                .unwrap_err()
                .message
                .starts_with("Enter the 6-digit")
        );
        assert!(one_time_code("code", "12345").is_err());
        assert!(one_time_code("code", "12345a").is_err());
        assert!(recovery_code("recovery_code", "7kq2m-x9d4p").is_ok());
        assert!(
            recovery_code("recovery_code", " ")
                .unwrap_err()
                .message
                .starts_with("Enter one")
        );
        assert!(recovery_code("recovery_code", "7kq2m-x9d4").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("first_name", "first name", "  Zoë ").unwrap(), "Zoë");
        assert_eq!(name("n", "name", "李小龍").unwrap(), "李小龍");
        assert_eq!(name("n", "name", "نور").unwrap(), "نور");
        assert!(name("n", "name", "   ").is_err());
        assert!(name("n", "name", &"a".repeat(100)).is_ok());
        assert!(name("n", "name", &"a".repeat(101)).is_err());
        assert!(name("n", "name", "Ana\u{0007}").is_err());
        assert!(name("n", "name", "Ana\nBob").is_err());
        // Invisible marks could make a name read differently in lists, or show nothing.
        assert!(name("n", "name", "\u{202e}anA").is_err());
        assert!(name("n", "name", "\u{200b}").is_err());
        assert!(name("n", "name", "Ana\u{2028}Bob").is_err());
        // Joiners are part of how Persian (and emoji) are written.
        assert!(name("n", "name", "فرزانه\u{200c}ها").is_ok());
    }

    #[test]
    fn emails_need_a_real_shape() {
        assert_eq!(
            email("email", " ana@example.com ").unwrap(),
            "ana@example.com"
        );
        assert!(email("email", "ana.lopez+ops@mail.example.co.uk").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@localhost",
            "Ana <ana@example.com>",
            "ana@[127.0.0.1]",
            "ana@example.com\r\nBcc: x@example.com",
            "ana@exa\0mple.com",
        ] {
            assert!(email("email", bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(email("email", &long).is_err());
    }

    #[test]
    fn email_keys_ignore_case() {
        assert_eq!(email_key("Ana@Example.COM"), email_key("ana@example.com"));
    }

    #[test]
    fn password_lengths_are_checked_in_code_points() {
        assert!(new_password_length("p", &"a".repeat(11)).is_err());
        assert!(new_password_length("p", &"a".repeat(12)).is_ok());
        assert!(new_password_length("p", &"🔑".repeat(12)).is_ok());
        assert!(new_password_length("p", &"a".repeat(128)).is_ok());
        assert!(new_password_length("p", &"a".repeat(129)).is_err());
    }

    #[test]
    fn login_paths_encode_the_return_address() {
        assert_eq!(
            login_path("/settings/team", None),
            "/login?next=/settings/team"
        );
        assert_eq!(
            login_path("/settings?a=1&b=2", None),
            "/login?next=/settings%3Fa%3D1%26b%3D2"
        );
        assert_eq!(
            login_path(
                "/settings/account",
                Some(crate::api::EndReason::PasswordChanged)
            ),
            "/login?next=/settings/account&ended=password_changed"
        );
    }

    #[test]
    fn next_accepts_only_local_paths() {
        assert_eq!(safe_next_path(Some("/settings/team")), "/settings/team");
        assert_eq!(
            safe_next_path(Some("/settings/team?tab=2")),
            "/settings/team?tab=2"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/ok\r\nSet-Cookie: x",
            "settings",
        ] {
            assert_eq!(safe_next_path(Some(bad)), "/settings/account", "{bad:?}");
        }
        assert_eq!(safe_next_path(None), "/settings/account");
    }
}
