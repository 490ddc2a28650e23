//! Two-factor authentication: codes from an authenticator app (TOTP, RFC 6238) and recovery
//! codes for when the phone is gone.
//!
//! These modules hold the rules and the cryptography, with no database and no clock of
//! their own:
//! - [`secret`]: the 160-bit secret, its key and `otpauth://` URI for enrolment, and its
//!   sealing with the server's [`SecretKey`](crate::backend::secret_key::SecretKey) so the
//!   database alone never reveals it.
//! - [`codes`]: whether a typed code is right, replayed or wrong at a given time, and how
//!   wrong codes throttle an account.
//! - [`recovery`]: the ten single-use recovery codes and their stored digests.
//!
//! What the caller owns: storing the last accepted step with a conditional update so each
//! step is accepted once even when requests race (M3), counting failures atomically, and
//! never logging a secret, URI, code or recovery code (L2).

pub mod codes;
pub mod recovery;
pub mod secret;
mod store;

pub use codes::{CodeCheck, CodeThrottle, Wait, check, throttle_decision};
pub use recovery::RecoveryCode;
pub use secret::{OpenError, SealError, TotpSecret};
pub use store::{
    begin_with_current_code, confirm_enrolment, disable, is_enabled, recovery_codes_left,
    regenerate_recovery_codes, sign_in_with_code, sign_in_with_recovery_code, start_enrolment,
};

/// The name authenticator apps show above the account's codes.
pub const ISSUER: &str = "ImportOps";
