//! The shared secret behind a person's authenticator codes: how it is made, shown once at
//! enrolment (as a key to type or a QR code to scan), and kept encrypted in the database.

use crate::backend::secret_key::SecretKey;
use chacha20poly1305::{AeadInOut, KeyInit, Tag, XChaCha20Poly1305, XNonce};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::RngCore;
use std::fmt::{self, Write as _};
use zeroize::Zeroizing;

/// 160 bits: the length RFC 4226 recommends, and what every authenticator app expects.
pub const SECRET_BYTES: usize = 20;

/// The first byte of every sealed secret. A new format or a rotated key gets a new number,
/// so rows sealed the old way can still be recognised and re-sealed.
const FORMAT_V1: u8 = 1;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
/// Version, nonce, ciphertext, tag.
pub const SEALED_BYTES: usize = 1 + NONCE_BYTES + SECRET_BYTES + TAG_BYTES;

/// Bound into every sealed secret with the user id, so that a ciphertext made for this
/// purpose is never accepted by another use of the same key.
const PURPOSE: &[u8] = b"importops/totp-secret";

/// What may stay unescaped in the label and in query values: RFC 3986's unreserved
/// characters. Everything else, including `:`, `/`, `+`, `&` and spaces, becomes `%XX`,
/// which every authenticator app decodes. (`+` matters: some apps read a literal `+` as a
/// space, which would turn `ana+ops@example.com` into another name.)
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The label may also keep `@`, which is legal in a URI path; apps then show the address
/// exactly as it reads, and the URI stays short enough for a small QR code.
const ESCAPED_IN_LABEL: &AsciiSet = &ESCAPED.remove(b'@');

/// A TOTP secret. Never printed, never serialised, wiped from memory when dropped.
pub struct TotpSecret(Zeroizing<[u8; SECRET_BYTES]>);

/// `seal` could not encrypt. The cipher only refuses messages of many gigabytes, so this
/// means something is badly wrong; it is an error rather than a panic all the same.
#[derive(Debug, thiserror::Error)]
#[error("the two-factor secret could not be encrypted")]
pub struct SealError;

/// Why a sealed secret did not open. None of these is the person's fault: each means the
/// stored row cannot be used, and they must enrol again (or an admin resets their 2FA).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the sealed two-factor secret has an unknown format (version {0})")]
    UnknownVersion(u8),
    #[error("the sealed two-factor secret has the wrong length")]
    Malformed,
    /// Sealed with another key, for another account, or altered since: the cipher cannot
    /// tell these apart, and neither should anyone reading the logs.
    #[error("the sealed two-factor secret does not open with this key for this account")]
    Rejected,
}

impl TotpSecret {
    /// A new secret from the operating system's CSPRNG (through `rand`'s reseeding ChaCha
    /// generator, as for every other secret in the app).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
        rand::rng().fill_bytes(bytes.as_mut());
        TotpSecret(bytes)
    }

    /// The key as people type it into an app: RFC 4648 base32, upper case, no padding
    /// (20 bytes make exactly 32 characters, so there is none to leave out).
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(totp_rs::Secret::new_stack(*self.0).to_base32())
    }

    /// The key in groups of four, for reading off the screen: `ABCD EFGH …`. Apps ignore
    /// the spaces.
    pub fn grouped(&self) -> Zeroizing<String> {
        let plain = self.base32();
        let mut grouped = Zeroizing::new(String::with_capacity(plain.len() + plain.len() / 4));
        for (index, character) in plain.chars().enumerate() {
            if index > 0 && index % 4 == 0 {
                grouped.push(' ');
            }
            grouped.push(character);
        }
        grouped
    }

    /// The `otpauth://` URI an app scans from the QR code.
    ///
    /// Google's key URI format, which Google and Microsoft Authenticator, 1Password, Authy
    /// and `oathtool` all read: the label is `Issuer:account` with each half
    /// percent-encoded, and `issuer` is repeated as a parameter because some apps only look
    /// there. Algorithm, digits and period are spelled out although they are the defaults,
    /// so an app that guesses differently cannot produce codes we refuse.
    ///
    /// The URI contains the secret: it is shown once, sent with `no-store`, never logged.
    pub fn otpauth_uri(&self, issuer: &str, account_email: &str) -> Zeroizing<String> {
        let secret = self.base32();
        let issuer_in_label = utf8_percent_encode(issuer, ESCAPED_IN_LABEL);
        let account = utf8_percent_encode(account_email, ESCAPED_IN_LABEL);
        let issuer_param = utf8_percent_encode(issuer, ESCAPED);
        let mut uri = Zeroizing::new(String::with_capacity(160));
        // Writing into a `String` cannot fail.
        let _ = write!(
            uri,
            "otpauth://totp/{issuer_in_label}:{account}?secret={}&issuer={issuer_param}\
             &algorithm=SHA1&digits={}&period={}",
            secret.as_str(),
            super::codes::DIGITS,
            super::codes::STEP_SECONDS,
        );
        uri
    }

    /// Encrypts the secret for the database.
    ///
    /// XChaCha20-Poly1305 rather than AES-GCM: its 192-bit nonce can be drawn at random for
    /// every seal with no practical chance of a repeat (AES-GCM's 96 bits need care past a
    /// few billion messages under one key), and it is constant-time in plain software, so
    /// it does not depend on the server's CPU having AES instructions.
    ///
    /// The result is `version ‖ nonce ‖ ciphertext ‖ tag`. The version byte, the purpose
    /// and the user id are authenticated as associated data, so the row only opens for the
    /// account it was made for: copied onto another account, it is refused.
    pub fn seal(&self, key: &SecretKey, user_id: i64) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let mut buffer = Zeroizing::new(*self.0);

        let tag = cipher(key)
            .encrypt_inout_detached(
                &XNonce::from(nonce),
                &associated_data(FORMAT_V1, user_id),
                buffer.as_mut_slice().into(),
            )
            .map_err(|_| SealError)?;

        let mut sealed = Vec::with_capacity(SEALED_BYTES);
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(buffer.as_ref());
        sealed.extend_from_slice(&tag);
        Ok(sealed)
    }

    /// Decrypts a secret sealed by [`TotpSecret::seal`] for this account.
    pub fn open(key: &SecretKey, user_id: i64, sealed: &[u8]) -> Result<TotpSecret, OpenError> {
        let (&version, rest) = sealed.split_first().ok_or(OpenError::Malformed)?;
        if version != FORMAT_V1 {
            return Err(OpenError::UnknownVersion(version));
        }
        if sealed.len() != SEALED_BYTES {
            return Err(OpenError::Malformed);
        }

        let (nonce, rest) = rest.split_at(NONCE_BYTES);
        let (ciphertext, tag) = rest.split_at(SECRET_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| OpenError::Malformed)?;
        let tag = Tag::try_from(tag).map_err(|_| OpenError::Malformed)?;
        let mut buffer = Zeroizing::new([0u8; SECRET_BYTES]);
        buffer.copy_from_slice(ciphertext);

        cipher(key)
            .decrypt_inout_detached(
                &nonce,
                &associated_data(version, user_id),
                buffer.as_mut_slice().into(),
                &tag,
            )
            .map_err(|_| OpenError::Rejected)?;
        Ok(TotpSecret(buffer))
    }

    /// The code generator of RFC 6238 with our parameters: SHA-1, 6 digits, 30 s.
    ///
    /// `totp-rs` is only used to compute codes; the window, replay and throttling rules are
    /// ours, in [`super::codes`]. Its copy of the secret is wiped when it is dropped.
    pub(super) fn totp(&self) -> totp_rs::Totp {
        totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(super::codes::DIGITS)
            .with_step_duration(super::codes::STEP_SECONDS)
            .with_skew(0)
            .with_secret(totp_rs::Secret::new_stack(*self.0))
            .build_noncompliant()
    }

    /// A secret with known bytes, for tests (such as the RFC 6238 test vectors).
    #[cfg(any(test, feature = "testing"))]
    pub fn from_bytes(bytes: [u8; SECRET_BYTES]) -> Self {
        TotpSecret(Zeroizing::new(bytes))
    }

    /// Reads back the key shown to a person, so tests can act as their authenticator app.
    #[cfg(any(test, feature = "testing"))]
    pub fn from_base32(key: &str) -> Option<Self> {
        let compact: Zeroizing<String> =
            Zeroizing::new(key.chars().filter(|c| !c.is_whitespace()).collect());
        let decoded = totp_rs::Secret::try_from_base32(compact.as_str()).ok()?;
        let bytes: [u8; SECRET_BYTES] = decoded.as_bytes().try_into().ok()?;
        Some(Self::from_bytes(bytes))
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

fn cipher(key: &SecretKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.as_bytes().into())
}

fn associated_data(version: u8, user_id: i64) -> Vec<u8> {
    let mut data = Vec::with_capacity(1 + PURPOSE.len() + 8);
    data.push(version);
    data.extend_from_slice(PURPOSE);
    data.extend_from_slice(&user_id.to_be_bytes());
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The secret of the RFC 6238 test vectors, as bytes.
    const RFC_SECRET: &[u8; SECRET_BYTES] = b"12345678901234567890";

    #[test]
    fn secrets_have_160_random_bits() {
        let a = TotpSecret::generate();
        let b = TotpSecret::generate();
        assert_eq!(a.0.len(), 20);
        assert_ne!(*a.0, *b.0);
        assert_ne!(*a.0, [0u8; SECRET_BYTES]);
    }

    #[test]
    fn keys_are_base32_in_groups_of_four() {
        let secret = TotpSecret::from_bytes(*RFC_SECRET);
        assert_eq!(secret.base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret.grouped().as_str(),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );

        let random = TotpSecret::generate();
        let key = random.base32();
        assert_eq!(key.len(), 32);
        assert!(key.chars().all(|c| matches!(c, 'A'..='Z' | '2'..='7')));
        let back = TotpSecret::from_base32(&random.grouped()).unwrap();
        assert_eq!(*back.0, *random.0);
    }

    #[test]
    fn otpauth_uris_have_the_expected_shape() {
        let secret = TotpSecret::from_bytes(*RFC_SECRET);
        assert_eq!(
            secret.otpauth_uri("ImportOps", "ana@example.com").as_str(),
            "otpauth://totp/ImportOps:ana@example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ImportOps\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn otpauth_uris_escape_what_would_break_the_label_or_the_query() {
        let secret = TotpSecret::from_bytes(*RFC_SECRET);
        let uri = secret.otpauth_uri("Import Ops & Co", "ana+ops:x/y?z#w é@example.com");
        let label = uri
            .strip_prefix("otpauth://totp/")
            .and_then(|rest| rest.split_once('?'))
            .map(|(label, _)| label)
            .unwrap();
        assert_eq!(
            label,
            "Import%20Ops%20%26%20Co:ana%2Bops%3Ax%2Fy%3Fz%23w%20%C3%A9@example.com"
        );
        assert!(uri.contains("&issuer=Import%20Ops%20%26%20Co&"));
        // Exactly one unescaped colon: the one between issuer and account.
        assert_eq!(label.matches(':').count(), 1);
    }

    #[test]
    fn otpauth_uris_read_back_to_the_same_secret_and_parameters() {
        // An independent parser (totp-rs's, built on the `url` crate) must find the same
        // bytes, issuer, account and parameters in what we wrote.
        let secret = TotpSecret::generate();
        let email = "ana.lópez+ops@example.com";
        let uri = secret.otpauth_uri("ImportOps", email);
        let parsed = totp_rs::Totp::from_url(uri.as_str()).unwrap();
        assert_eq!(parsed.secret().as_bytes(), secret.0.as_slice());
        assert_eq!(parsed.issuer(), Some("ImportOps"));
        assert_eq!(parsed.account_name(), email);
        assert_eq!(parsed.algorithm(), totp_rs::Algorithm::SHA1);
        assert_eq!((parsed.digits(), parsed.step()), (6, 30));

        let query = uri.split_once('?').unwrap().1;
        let key = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("secret="))
            .unwrap();
        assert_eq!(*TotpSecret::from_base32(key).unwrap().0, *secret.0);
    }

    #[test]
    fn sealed_secrets_open_for_the_same_key_and_account() {
        let key = SecretKey::generate();
        let secret = TotpSecret::generate();
        let sealed = secret.seal(&key, 42).unwrap();
        assert_eq!(sealed.len(), SEALED_BYTES);
        assert_eq!(sealed[0], FORMAT_V1);
        assert!(
            !sealed
                .windows(SECRET_BYTES)
                .any(|w| w == secret.0.as_slice()),
            "the secret must not appear in clear"
        );

        let opened = TotpSecret::open(&key, 42, &sealed).unwrap();
        assert_eq!(*opened.0, *secret.0);

        // A fresh nonce each time: sealing twice gives different bytes.
        assert_ne!(secret.seal(&key, 42).unwrap(), sealed);
    }

    #[test]
    fn sealed_secrets_refuse_another_key_account_or_alteration() {
        let key = SecretKey::generate();
        let sealed = TotpSecret::generate().seal(&key, 42).unwrap();

        let other_key = SecretKey::generate();
        assert_eq!(
            TotpSecret::open(&other_key, 42, &sealed).unwrap_err(),
            OpenError::Rejected
        );
        assert_eq!(
            TotpSecret::open(&key, 43, &sealed).unwrap_err(),
            OpenError::Rejected
        );

        for index in [1, NONCE_BYTES + 1, SEALED_BYTES - 1] {
            let mut altered = sealed.clone();
            altered[index] ^= 0x01;
            assert_eq!(
                TotpSecret::open(&key, 42, &altered).unwrap_err(),
                OpenError::Rejected,
                "byte {index}"
            );
        }
    }

    #[test]
    fn sealed_secrets_check_version_and_length_first() {
        let key = SecretKey::generate();
        let sealed = TotpSecret::generate().seal(&key, 7).unwrap();

        let mut future = sealed.clone();
        future[0] = 2;
        assert_eq!(
            TotpSecret::open(&key, 7, &future).unwrap_err(),
            OpenError::UnknownVersion(2)
        );
        assert_eq!(
            TotpSecret::open(&key, 7, &[]).unwrap_err(),
            OpenError::Malformed
        );
        assert_eq!(
            TotpSecret::open(&key, 7, &sealed[..SEALED_BYTES - 1]).unwrap_err(),
            OpenError::Malformed
        );
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(
            TotpSecret::open(&key, 7, &longer).unwrap_err(),
            OpenError::Malformed
        );
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let secret = TotpSecret::from_bytes(*RFC_SECRET);
        let printed = format!("{secret:?} {:?}", Some(&secret));
        assert!(!printed.contains("GEZD"));
        assert!(!printed.contains("1234"));
        assert!(!printed.contains("49, 50"), "no byte lists either");
        assert_eq!(format!("{secret:?}"), "TotpSecret(…)");

        let key = SecretKey::generate();
        let error = TotpSecret::open(&key, 1, &secret.seal(&key, 2).unwrap()).unwrap_err();
        assert!(!format!("{error:?} {error}").contains("GEZD"));
    }
}
