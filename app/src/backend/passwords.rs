//! Passwords: the policy for new ones, and Argon2id hashing off the async runtime.
//!
//! Policy (the same at sign-up and wherever a password is set): at least 12 and at most 128
//! Unicode code points after NFKC normalisation, any printable characters including spaces
//! and emoji, no composition rules. Refused: the 10,000 most common breached passwords
//! (also when merely decorated with digits or symbols, like `Sunshine2026!`), and passwords
//! built from the product name, the person's name or their email address.
//!
//! Hashing uses Argon2id v19, m=19456 KiB, t=2, p=1 with a 16-byte random salt, stored as a
//! PHC string. Each hash takes one core and 19 MiB for tens of milliseconds, so it runs on
//! the blocking pool behind a semaphore sized to the cores: a burst of sign-ins queues here
//! instead of starving every other request or exhausting memory.

use super::error::Error;
use crate::{
    error::FieldError,
    validation::{self, PASSWORD_MAX_BYTES, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS},
};
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash},
};
use std::{
    collections::HashSet,
    fmt,
    sync::{Arc, LazyLock},
};
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

const PRODUCT_NAME: &str = "importops";

/// Argon2id parameters for new hashes (OWASP's recommendation).
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// Stored hashes asking for more than this are refused before verification, so a planted
/// hash cannot make the server allocate gigabytes or spin for minutes.
const MAX_M_COST_KIB: u32 = 64 * 1024;
const MAX_T_COST: u32 = 10;
const MAX_P_COST: u32 = 4;

/// The ranked list of the most common passwords from breaches, as published with zxcvbn
/// (MIT licence), first 10,000 entries.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common-passwords.txt").lines().collect());

/// A password in its normalised form (NFKC). Never printed, wiped from memory when dropped.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Normalises a password typed at sign-in. Returns `None` for input no valid password
    /// could match (over the byte limit), which is then treated like a wrong password
    /// without hashing anything.
    pub fn for_sign_in(raw: &str) -> Option<Password> {
        (raw.len() <= PASSWORD_MAX_BYTES).then(|| Password(Zeroizing::new(raw.nfkc().collect())))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// What a new password must not be built from.
pub struct PasswordContext<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// Checks a new password against the policy and returns it normalised.
pub fn new_password(
    field: &str,
    raw: &str,
    context: &PasswordContext<'_>,
) -> Result<Password, FieldError> {
    let too_long = || {
        FieldError::new(
            field,
            format!("Use at most {PASSWORD_MAX_CHARS} characters."),
        )
    };
    if raw.len() > PASSWORD_MAX_BYTES {
        return Err(too_long());
    }
    let normalised: Zeroizing<String> = Zeroizing::new(raw.nfkc().collect());
    let length = normalised.chars().count();
    if length < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(
            field,
            format!("Use at least {PASSWORD_MIN_CHARS} characters."),
        ));
    }
    if length > PASSWORD_MAX_CHARS {
        return Err(too_long());
    }
    if normalised
        .chars()
        .any(|c| c.is_control() || validation::is_invisible_format(c))
    {
        return Err(FieldError::new(
            field,
            "Use letters, numbers, spaces, symbols or emoji; control characters and invisible \
             formatting marks aren't allowed.",
        ));
    }
    if is_one_repeated_character(&normalised) {
        return Err(FieldError::new(
            field,
            "Don't repeat a single character: choose something less predictable, such as a few \
             unrelated words.",
        ));
    }
    if is_common(&normalised) {
        return Err(FieldError::new(
            field,
            "This password is too common: it appears in lists of breached passwords. Choose \
             something less predictable, such as a few unrelated words.",
        ));
    }
    if is_built_from_context(&normalised, context) {
        return Err(FieldError::new(
            field,
            "Don't build your password from your name, your email address or \u{201c}ImportOps\u{201d}.",
        ));
    }
    Ok(Password(normalised))
}

/// One character over and over (`aaaaaaaaaaaa`), spaces aside: the first thing a guesser
/// tries, and in every breached-password list at every length.
fn is_one_repeated_character(password: &str) -> bool {
    let mut visible = password.chars().filter(|c| !c.is_whitespace());
    match visible.next() {
        None => true,
        Some(first) => visible.all(|c| c == first),
    }
}

/// A common password, as is or with digits and symbols around it (`Password1234!`).
fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let core =
        lower.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ');
    COMMON_PASSWORDS.contains(lower.as_str())
        || (!core.is_empty() && COMMON_PASSWORDS.contains(core))
}

/// Mostly made of the product name, the person's names or their email address: once those
/// are removed, fewer than 8 characters remain.
fn is_built_from_context(password: &str, context: &PasswordContext<'_>) -> bool {
    let simplify = |s: &str| -> String {
        s.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    let mut rest = simplify(password);
    let local_part = context.email.split('@').next().unwrap_or_default();
    let mut words: Vec<String> = [
        PRODUCT_NAME,
        context.email,
        local_part,
        context.first_name,
        context.last_name,
    ]
    .iter()
    .map(|w| simplify(w))
    .chain(local_part.split(['.', '_', '-', '+']).map(simplify))
    .filter(|w| w.chars().count() >= 3)
    .collect();
    // Longest first, so "anamaria" is removed before "ana".
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let mut removed_any = false;
    for word in &words {
        if rest.contains(word.as_str()) {
            rest = rest.replace(word.as_str(), "");
            removed_any = true;
        }
    }
    removed_any && rest.chars().count() < 8
}

/// The result of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Mismatch,
    /// The password is right; `rehash` says the stored hash uses outdated parameters.
    Match {
        rehash: bool,
    },
}

pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified when the email is unknown so that unknown
    /// addresses take as long to refuse as wrong passwords.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub fn new(permits: usize) -> Self {
        let dummy = crate::backend::tokens::random_token();
        let dummy_hash = hash_now(dummy.as_bytes()).unwrap_or_default();
        PasswordHasher {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            dummy_hash: dummy_hash.into(),
        }
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: &Password) -> Result<String, Error> {
        let bytes = Zeroizing::new(password.as_bytes().to_vec());
        self.blocking(move || hash_now(&bytes)).await?
    }

    /// Checks a password against a stored hash, or against the dummy hash when there is no
    /// account (`stored` is `None`), which always ends in [`Verdict::Mismatch`].
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<Verdict, Error> {
        let bytes = Zeroizing::new(password.as_bytes().to_vec());
        let known = stored.is_some();
        let hash = stored
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy_hash.to_string());
        let verdict = self.blocking(move || verify_now(&bytes, &hash)).await?;
        Ok(if known { verdict } else { Verdict::Mismatch })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        // The permit travels with the work: if the request is cancelled (the client went
        // away) the hash still runs to its end, and still counts against the limit.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(Error::internal)
    }
}

fn hasher() -> Result<Argon2<'static>, Error> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(Error::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &[u8]) -> Result<String, Error> {
    let hash = hasher()?.hash_password(password).map_err(Error::internal)?;
    Ok(hash.to_string())
}

fn verify_now(password: &[u8], stored: &str) -> Verdict {
    let Ok(parsed) = PasswordHash::new(stored) else {
        tracing::error!("a stored password hash could not be parsed");
        return Verdict::Mismatch;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        tracing::error!("a stored password hash has invalid parameters");
        return Verdict::Mismatch;
    };
    if params.m_cost() > MAX_M_COST_KIB
        || params.t_cost() > MAX_T_COST
        || params.p_cost() > MAX_P_COST
    {
        tracing::error!(
            m_cost = params.m_cost(),
            t_cost = params.t_cost(),
            p_cost = params.p_cost(),
            "a stored password hash asks for more than the allowed cost; refused"
        );
        return Verdict::Mismatch;
    }
    let Ok(argon2) = hasher() else {
        return Verdict::Mismatch;
    };
    if argon2.verify_password(password, &parsed).is_err() {
        return Verdict::Mismatch;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && parsed.version == Some(0x13)
        && params.m_cost() == M_COST_KIB
        && params.t_cost() == T_COST
        && params.p_cost() == P_COST;
    Verdict::Match { rehash: !current }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> PasswordContext<'static> {
        PasswordContext {
            email: "ana.lopez@example.com",
            first_name: "Ana",
            last_name: "Lopez",
        }
    }

    fn check(raw: &str) -> Result<Password, FieldError> {
        new_password("password", raw, &context())
    }

    #[test]
    fn length_is_counted_after_normalisation() {
        assert!(check("correct horse").is_ok());
        assert!(check("abcdefghijk").is_err()); // 11
        assert!(check("tangerine-vx").is_ok()); // 12
        assert!(check(&"x7".repeat(32)).is_ok()); // 64
        assert!(check(&"qz".repeat(64)).is_ok()); // 128
        assert!(check(&"qz".repeat(64).replacen('q', "qq", 1)).is_err()); // 129
        // Twelve emoji are twelve code points, 48 bytes.
        assert!(check(&"🦀🔑".repeat(6)).is_ok());
        // Emoji joined with U+200D (a family, a rainbow flag) are fine too.
        assert!(check("👩\u{200d}👩\u{200d}👧 🏳\u{fe0f}\u{200d}🌈 at home").is_ok());
        // U+FB01 (ﬁ) normalises to "fi": 6 ligatures become 12 code points.
        assert!(check(&"\u{fb01}".repeat(6)).is_ok());
        assert!(check(&"\u{fb01}".repeat(5)).is_err());
    }

    #[test]
    fn huge_input_is_refused_without_work() {
        let megabyte = "a".repeat(1 << 20);
        let started = std::time::Instant::now();
        assert!(check(&megabyte).is_err());
        assert!(Password::for_sign_in(&megabyte).is_none());
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
    }

    #[test]
    fn control_characters_are_refused_but_spaces_are_fine() {
        assert!(check("four words with spaces").is_ok());
        assert!(check("tab\tseparated words").is_err());
        assert!(check("zero\u{200b}width\u{200b}space").is_err());
        assert!(check("\u{202e}reversed text here").is_err());
    }

    #[test]
    fn one_repeated_character_is_refused() {
        assert!(check(&"q".repeat(12)).is_err());
        assert!(check(&"🦀".repeat(12)).is_err());
        assert!(check(&" ".repeat(12)).is_err());
        assert!(check("a a a a a a a").is_err());
        assert!(check("aaaaaaaaaaab").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_even_decorated() {
        for common in [
            "qwertyuiop123",
            "Password1234!",
            "iloveyou12345",
            "Sunshine2026!!",
        ] {
            assert!(check(common).is_err(), "{common} should be refused");
        }
        assert!(check("dragon-slayer-42").is_ok());
    }

    #[test]
    fn passwords_built_from_the_person_or_product_are_refused() {
        for weak in [
            "AnaLopez2026!",
            "ana.lopez@example.com",
            "ImportOps2026!",
            "lopezlopez123",
        ] {
            assert!(check(weak).is_err(), "{weak} should be refused");
        }
        assert!(check("Ana likes quiet mountain lakes").is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let hasher = PasswordHasher::new(2);
        let password = check("a long enough passphrase").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            hasher.verify(&password, Some(&hash)).await.unwrap(),
            Verdict::Match { rehash: false }
        );

        let wrong = Password::for_sign_in("another passphrase").unwrap();
        assert_eq!(
            hasher.verify(&wrong, Some(&hash)).await.unwrap(),
            Verdict::Mismatch
        );
        assert_eq!(
            hasher.verify(&password, None).await.unwrap(),
            Verdict::Mismatch
        );
    }

    #[test]
    fn outdated_hashes_ask_for_a_rehash_and_costly_ones_are_refused() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"a long enough passphrase")
        .unwrap()
        .to_string();
        assert_eq!(
            verify_now(b"a long enough passphrase", &weak),
            Verdict::Match { rehash: true }
        );

        let planted = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        assert_eq!(verify_now(b"anything", planted), Verdict::Mismatch);
        assert_eq!(verify_now(b"anything", "not a hash"), Verdict::Mismatch);
    }
}
