//! Checking the six-digit codes from a person's authenticator app, and how failed codes slow
//! further attempts down.
//!
//! Both are pure: the caller reads the stored counters, passes "now" in, and writes back
//! what the answer says. That keeps the rules testable with a pinned clock and leaves the
//! one thing only the database can do, accepting each step once under concurrency, to a
//! conditional update there (see [`CodeCheck::Accepted`]).

use super::secret::TotpSecret;
use crate::backend::clock::Timestamp;
use std::{fmt::Write as _, time::Duration};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Six digits, SHA-1 and 30 seconds: RFC 6238's defaults, and the only parameters every
/// authenticator app honours (some silently ignore others and show codes we would refuse).
pub const DIGITS: u8 = 6;
pub const STEP_SECONDS: u64 = 30;
const STEP_MILLIS: i64 = 30_000;

/// Codes from one step either side of the current one are accepted too (RFC 6238 5.2):
/// enough for a phone clock a little off, or a code typed just as it changed. More would
/// only widen what a guess can hit.
pub const SKEW_STEPS: i64 = 1;

/// Anything longer is refused unread; a code with generous spacing is far shorter.
const MAX_INPUT_BYTES: usize = 32;

/// The verdict on one submitted code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code is right for `step` (a 30-second step number since the Unix epoch), and
    /// that step is later than any used before. The caller records the step as the last
    /// used one with an update that only applies while the stored step is still earlier
    /// (or unset); if that update changes no row, another request got there first and this
    /// one is a replay.
    Accepted { step: i64 },
    /// The code is right, but only for a step already used: the same code was accepted
    /// before, or it is older than one that was. Refused with its own security-log entry,
    /// since someone may be replaying a code they saw; not counted as a failure, since it
    /// says nothing about guessing and the person's own double submit looks the same.
    Replayed,
    /// Not a code for any step in the window, or not six digits at all.
    Wrong,
}

/// The 30-second step that `now` falls in.
pub fn step_at(now: Timestamp) -> i64 {
    now.as_millis().div_euclid(STEP_MILLIS)
}

/// When `step` begins.
pub fn step_start(step: i64) -> Timestamp {
    Timestamp::from_millis(step.saturating_mul(STEP_MILLIS))
}

/// Checks a code typed by the person against their secret at `now`.
///
/// `last_used_step` is the step of the last code accepted for this account (the enrolment
/// code included), or `None` if none has been. Only later steps are accepted, so each code
/// works once and an older one cannot be used after a newer one.
///
/// Spaces and dashes are ignored (`123 456`, `123-456`); what remains must be exactly six
/// ASCII digits. Every step in the window is computed and compared in constant time, match
/// or not, so the time taken says nothing about which step a code belongs to.
pub fn check(
    secret: &TotpSecret,
    code: &str,
    now: Timestamp,
    last_used_step: Option<i64>,
) -> CodeCheck {
    let Some(code) = normalise(code) else {
        return CodeCheck::Wrong;
    };
    let totp = secret.totp();
    let current = step_at(now);

    let mut fresh_match = None;
    let mut used_match = false;
    for step in current.saturating_sub(SKEW_STEPS)..=current.saturating_add(SKEW_STEPS) {
        let matches = matches_step(&totp, code.as_slice(), step);
        let used = last_used_step.is_some_and(|last| step <= last);
        if matches && used {
            used_match = true;
        } else if matches && fresh_match.is_none() {
            fresh_match = Some(step);
        }
    }

    match (fresh_match, used_match) {
        (Some(step), _) => CodeCheck::Accepted { step },
        (None, true) => CodeCheck::Replayed,
        (None, false) => CodeCheck::Wrong,
    }
}

/// Whether `code` has the shape of a code (six digits, give or take spaces and dashes), so
/// a form can ask for the digits again without spending an attempt on a typo.
pub fn is_well_formed(code: &str) -> bool {
    normalise(code).is_some()
}

/// The code an authenticator app shows at `now`; for tests that play the person's phone.
#[cfg(any(test, feature = "testing"))]
pub fn code_at(secret: &TotpSecret, now: Timestamp) -> Zeroizing<String> {
    let seconds = u64::try_from(now.as_millis().div_euclid(1_000)).unwrap_or(0);
    Zeroizing::new(secret.totp().generate(seconds).to_string())
}

fn normalise(code: &str) -> Option<Zeroizing<[u8; DIGITS as usize]>> {
    if code.len() > MAX_INPUT_BYTES {
        return None;
    }
    let mut digits = Zeroizing::new([0u8; DIGITS as usize]);
    let mut count = 0;
    for character in code.chars() {
        if character.is_whitespace() || character == '-' {
            continue;
        }
        if !character.is_ascii_digit() || count == digits.len() {
            return None;
        }
        digits[count] = u8::try_from(character).ok()?;
        count += 1;
    }
    (count == digits.len()).then_some(digits)
}

fn matches_step(totp: &totp_rs::Totp, code: &[u8], step: i64) -> bool {
    let Some(seconds) = u64::try_from(step)
        .ok()
        .and_then(|step| step.checked_mul(STEP_SECONDS))
    else {
        return false;
    };
    let mut expected = Zeroizing::new(String::with_capacity(usize::from(DIGITS)));
    if write!(expected, "{}", totp.generate(seconds)).is_err() {
        return false;
    }
    expected.as_bytes().ct_eq(code).into()
}

/// After this many wrong codes in a row, the next one is only taken from the next 30-second
/// step on, so guesses cannot be fired at one step's codes.
pub const WAIT_AFTER_FAILURES: u32 = 3;
/// After this many, codes are locked for [`LOCK_DURATION`] after each further failure, and
/// the person is told (see [`CodeThrottle::starts_lock`]).
pub const LOCK_AFTER_FAILURES: u32 = 10;
pub const LOCK_DURATION: Duration = Duration::from_secs(15 * 60);
/// NIST SP 800-63B 5.2.2 allows at most 100 failures in a row on one account. Locks alone
/// would let about 96 more through every day, so at 100 codes stop being taken until the
/// count is cleared: by signing in with a recovery code, or by an admin's 2FA reset.
pub const BLOCK_AFTER_FAILURES: u32 = 100;

/// Why a code cannot be tried yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A few wrong codes in a row: try again once the next code appears.
    NextStep { until: Timestamp },
    /// Many wrong codes in a row: codes are locked for a while.
    Locked { until: Timestamp },
    /// Too many wrong codes in a row: only a recovery code or an admin reset helps now.
    Blocked,
}

impl Wait {
    /// When codes are taken again, if they will be without anyone's help.
    pub fn until(self) -> Option<Timestamp> {
        match self {
            Wait::NextStep { until } | Wait::Locked { until } => Some(until),
            Wait::Blocked => None,
        }
    }

    /// How long from `now` until then (for a `Retry-After`), if ever.
    pub fn remaining(self, now: Timestamp) -> Option<Duration> {
        self.until().map(|until| now.until(until))
    }
}

/// How wrong codes slow an account's further codes down. The defaults are the checklist's
/// (M4); tests or configuration may use others.
///
/// The counter is the number of wrong codes in a row for the account, and
/// `last_failure` when the latest of them came. The caller adds one for each failure,
/// clears the count when a code or recovery code is accepted, and checks [`Self::decide`]
/// before checking a code, so a refused attempt is neither checked nor counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeThrottle {
    pub wait_after: u32,
    pub lock_after: u32,
    pub lock_for: Duration,
    pub block_after: u32,
}

impl CodeThrottle {
    pub const DEFAULT: CodeThrottle = CodeThrottle {
        wait_after: WAIT_AFTER_FAILURES,
        lock_after: LOCK_AFTER_FAILURES,
        lock_for: LOCK_DURATION,
        block_after: BLOCK_AFTER_FAILURES,
    };

    /// Whether a code may be checked at `now`, given `failures` in a row, the latest at
    /// `last_failure`.
    ///
    /// A count without a time (which the database never writes) imposes no wait rather
    /// than a lock that could never end; the hard stop at `block_after` needs no time and
    /// still applies.
    pub fn decide(
        &self,
        failures: u32,
        last_failure: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), Wait> {
        if failures >= self.block_after {
            return Err(Wait::Blocked);
        }
        let Some(last_failure) = last_failure else {
            return Ok(());
        };
        if failures >= self.lock_after {
            let until = last_failure.plus(self.lock_for);
            if now < until {
                return Err(Wait::Locked { until });
            }
        }
        if failures >= self.wait_after {
            let until = step_start(step_at(last_failure).saturating_add(1));
            if now < until {
                return Err(Wait::NextStep { until });
            }
        }
        Ok(())
    }

    /// Whether the failure that brought the count to `failures` is the one that starts the
    /// lock: the moment to mail the person, once, rather than at every later failure.
    pub fn starts_lock(&self, failures: u32) -> bool {
        failures == self.lock_after
    }
}

impl Default for CodeThrottle {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// [`CodeThrottle::decide`] with the default rules.
pub fn throttle_decision(
    failures: u32,
    last_failure: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), Wait> {
    CodeThrottle::DEFAULT.decide(failures, last_failure, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::clock::{Clock, ManualClock};

    /// The secret of RFC 6238's test vectors.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(*b"12345678901234567890")
    }

    fn at_seconds(seconds: i64) -> Timestamp {
        Timestamp::from_millis(seconds * 1_000)
    }

    /// The pinned test clock: 2026-01-01T00:00:00Z, the start of step 58907520.
    fn pinned() -> Timestamp {
        ManualClock::pinned().now()
    }

    const PINNED_STEP: i64 = 58_907_520;

    /// Codes for the RFC secret around the pinned time, from `oathtool --totp -d 6 -N`
    /// (OATH Toolkit 2.6.7), an implementation independent of totp-rs.
    const CODE_MINUS_60S: &str = "853924";
    const CODE_MINUS_30S: &str = "815958";
    const CODE_NOW: &str = "745690";
    const CODE_PLUS_30S: &str = "119644";
    const CODE_PLUS_60S: &str = "582485";

    #[test]
    fn rfc_6238_sha1_vectors_reduced_to_six_digits() {
        // RFC 6238 appendix B (8 digits); the last six of each, which `oathtool -d 6`
        // confirms. 20000000000 is past 2038 and past the 32-bit step counter.
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let secret = rfc_secret();
        for (seconds, eight_digits) in vectors {
            let six = &eight_digits[2..];
            let now = at_seconds(seconds);
            assert_eq!(code_at(&secret, now).as_str(), six, "T = {seconds}");
            assert_eq!(
                check(&secret, six, now, None),
                CodeCheck::Accepted { step: seconds / 30 },
                "T = {seconds}"
            );
        }
    }

    #[test]
    fn pinned_clock_codes_match_oathtool() {
        let secret = rfc_secret();
        let now = pinned();
        assert_eq!(step_at(now), PINNED_STEP);
        assert_eq!(code_at(&secret, now).as_str(), CODE_NOW);
        assert_eq!(
            code_at(&secret, now.minus(Duration::from_secs(30))).as_str(),
            CODE_MINUS_30S
        );
        assert_eq!(
            code_at(&secret, now.plus(Duration::from_secs(30))).as_str(),
            CODE_PLUS_30S
        );
    }

    #[test]
    fn the_window_is_the_current_step_and_one_either_side() {
        let secret = rfc_secret();
        let now = pinned();
        let accepted = |step| CodeCheck::Accepted { step };

        assert_eq!(check(&secret, CODE_NOW, now, None), accepted(PINNED_STEP));
        assert_eq!(
            check(&secret, CODE_MINUS_30S, now, None),
            accepted(PINNED_STEP - 1)
        );
        assert_eq!(
            check(&secret, CODE_PLUS_30S, now, None),
            accepted(PINNED_STEP + 1)
        );
        assert_eq!(check(&secret, CODE_MINUS_60S, now, None), CodeCheck::Wrong);
        assert_eq!(check(&secret, CODE_PLUS_60S, now, None), CodeCheck::Wrong);
    }

    #[test]
    fn window_edges_are_exact_to_the_millisecond() {
        let secret = rfc_secret();
        let clock = ManualClock::pinned();

        // The last millisecond of the pinned step: the previous code still works.
        clock.advance(Duration::from_millis(29_999));
        assert_eq!(
            check(&secret, CODE_MINUS_30S, clock.now(), None),
            CodeCheck::Accepted {
                step: PINNED_STEP - 1
            }
        );

        // One millisecond later it is two steps old.
        clock.advance(Duration::from_millis(1));
        assert_eq!(
            check(&secret, CODE_MINUS_30S, clock.now(), None),
            CodeCheck::Wrong
        );
        assert_eq!(
            check(&secret, CODE_PLUS_60S, clock.now(), None),
            CodeCheck::Accepted {
                step: PINNED_STEP + 2
            }
        );
    }

    #[test]
    fn a_code_is_accepted_once() {
        let secret = rfc_secret();
        let now = pinned();
        let CodeCheck::Accepted { step } = check(&secret, CODE_NOW, now, None) else {
            panic!("the current code must be accepted");
        };
        assert_eq!(
            check(&secret, CODE_NOW, now, Some(step)),
            CodeCheck::Replayed
        );
        // Still refused half a minute later, while it is inside the window.
        assert_eq!(
            check(
                &secret,
                CODE_NOW,
                now.plus(Duration::from_secs(30)),
                Some(step)
            ),
            CodeCheck::Replayed
        );
    }

    #[test]
    fn later_steps_are_accepted_after_earlier_ones_but_not_the_reverse() {
        let secret = rfc_secret();
        let now = pinned();
        assert_eq!(
            check(&secret, CODE_MINUS_30S, now, None),
            CodeCheck::Accepted {
                step: PINNED_STEP - 1
            }
        );
        assert_eq!(
            check(&secret, CODE_NOW, now, Some(PINNED_STEP - 1)),
            CodeCheck::Accepted { step: PINNED_STEP }
        );
        assert_eq!(
            check(&secret, CODE_PLUS_30S, now, Some(PINNED_STEP)),
            CodeCheck::Accepted {
                step: PINNED_STEP + 1
            }
        );
        // After the newest code, the older ones in the window count as used.
        assert_eq!(
            check(&secret, CODE_NOW, now, Some(PINNED_STEP + 1)),
            CodeCheck::Replayed
        );
        assert_eq!(
            check(&secret, CODE_MINUS_30S, now, Some(PINNED_STEP + 1)),
            CodeCheck::Replayed
        );
        // A wrong code is wrong whatever was used before.
        assert_eq!(
            check(&secret, "000000", now, Some(PINNED_STEP)),
            CodeCheck::Wrong
        );
    }

    #[test]
    fn spaces_and_dashes_are_ignored() {
        let secret = rfc_secret();
        let now = pinned();
        for typed in [
            "745 690",
            "745-690",
            " 7 4 5 6 9 0 ",
            "745690\n",
            "74\u{a0}5690",
        ] {
            assert!(is_well_formed(typed), "{typed:?}");
            assert_eq!(
                check(&secret, typed, now, None),
                CodeCheck::Accepted { step: PINNED_STEP },
                "{typed:?}"
            );
        }
    }

    #[test]
    fn malformed_codes_are_wrong() {
        let secret = rfc_secret();
        let now = pinned();
        let long = format!("745690{}", " ".repeat(40));
        for typed in [
            "",
            "   ",
            "74569",
            "7456900",
            "0745690",
            "74569a",
            "+745690",
            "745.690",
            "７４５６９０",
            "٧٤٥٦٩٠",
            "74569０",
            long.as_str(),
        ] {
            assert!(!is_well_formed(typed), "{typed:?}");
            assert_eq!(
                check(&secret, typed, now, None),
                CodeCheck::Wrong,
                "{typed:?}"
            );
        }
    }

    #[test]
    fn steps_are_counted_from_the_epoch() {
        assert_eq!(step_at(Timestamp::from_millis(0)), 0);
        assert_eq!(step_at(Timestamp::from_millis(29_999)), 0);
        assert_eq!(step_at(Timestamp::from_millis(30_000)), 1);
        assert_eq!(step_at(Timestamp::from_millis(-1)), -1);
        assert_eq!(step_start(PINNED_STEP), pinned());
    }

    #[test]
    fn times_before_the_epoch_match_nothing() {
        // Not a real case; it must not panic or wrap around.
        let secret = rfc_secret();
        let code = code_at(&secret, Timestamp::from_millis(0));
        assert_eq!(
            check(&secret, &code, Timestamp::from_millis(-1), None),
            CodeCheck::Accepted { step: 0 }
        );
        assert_eq!(
            check(&secret, &code, Timestamp::from_millis(i64::MIN), None),
            CodeCheck::Wrong
        );
    }

    #[test]
    fn up_to_two_failures_impose_no_wait() {
        let now = pinned();
        for failures in 0..WAIT_AFTER_FAILURES {
            assert_eq!(throttle_decision(failures, Some(now), now), Ok(()));
        }
        assert_eq!(throttle_decision(0, None, now), Ok(()));
    }

    #[test]
    fn from_three_failures_the_next_code_waits_for_the_next_step() {
        // The third failure came 10 s into the pinned step.
        let failed_at = pinned().plus(Duration::from_secs(10));
        let boundary = step_start(PINNED_STEP + 1);
        let wait = Wait::NextStep { until: boundary };

        assert_eq!(throttle_decision(3, Some(failed_at), failed_at), Err(wait));
        assert_eq!(
            throttle_decision(3, Some(failed_at), boundary.minus(Duration::from_millis(1))),
            Err(wait)
        );
        assert_eq!(throttle_decision(3, Some(failed_at), boundary), Ok(()));
        assert_eq!(throttle_decision(9, Some(failed_at), boundary), Ok(()));
        assert_eq!(wait.remaining(failed_at), Some(Duration::from_secs(20)));
    }

    #[test]
    fn from_ten_failures_codes_are_locked_for_fifteen_minutes() {
        let failed_at = pinned().plus(Duration::from_secs(10));
        let lock_ends = failed_at.plus(Duration::from_secs(15 * 60));
        let locked = Wait::Locked { until: lock_ends };

        assert!(CodeThrottle::DEFAULT.starts_lock(10));
        assert!(!CodeThrottle::DEFAULT.starts_lock(9));
        assert!(!CodeThrottle::DEFAULT.starts_lock(11));

        assert_eq!(
            throttle_decision(10, Some(failed_at), failed_at),
            Err(locked)
        );
        // Past the next step, still locked.
        assert_eq!(
            throttle_decision(10, Some(failed_at), failed_at.plus(Duration::from_secs(60))),
            Err(locked)
        );
        assert_eq!(
            throttle_decision(
                10,
                Some(failed_at),
                lock_ends.minus(Duration::from_millis(1))
            ),
            Err(locked)
        );
        assert_eq!(throttle_decision(10, Some(failed_at), lock_ends), Ok(()));
        assert_eq!(
            locked.remaining(failed_at),
            Some(Duration::from_secs(15 * 60))
        );
    }

    #[test]
    fn after_the_lock_each_further_failure_locks_again() {
        let clock = ManualClock::pinned();
        let mut failures = 10;
        let mut last_failure = clock.now();

        clock.advance(LOCK_DURATION);
        assert_eq!(
            throttle_decision(failures, Some(last_failure), clock.now()),
            Ok(())
        );

        // One more wrong code after the lock: locked again for the full duration.
        failures += 1;
        last_failure = clock.now();
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            throttle_decision(failures, Some(last_failure), clock.now()),
            Err(Wait::Locked {
                until: last_failure.plus(LOCK_DURATION)
            })
        );
    }

    #[test]
    fn one_hundred_failures_in_a_row_stop_codes_until_the_count_is_cleared() {
        let long_ago = pinned();
        let much_later = long_ago.plus(Duration::from_secs(30 * 24 * 60 * 60));
        assert_eq!(throttle_decision(99, Some(long_ago), much_later), Ok(()));
        assert_eq!(
            throttle_decision(100, Some(long_ago), much_later),
            Err(Wait::Blocked)
        );
        assert_eq!(throttle_decision(100, None, much_later), Err(Wait::Blocked));
        assert_eq!(Wait::Blocked.until(), None);
        assert_eq!(Wait::Blocked.remaining(much_later), None);
    }

    #[test]
    fn a_count_without_a_time_imposes_no_endless_lock() {
        assert_eq!(throttle_decision(12, None, pinned()), Ok(()));
    }

    #[test]
    fn thresholds_can_be_configured() {
        let strict = CodeThrottle {
            wait_after: 1,
            lock_after: 2,
            lock_for: Duration::from_secs(60),
            block_after: 3,
        };
        let now = pinned();
        assert!(matches!(
            strict.decide(1, Some(now), now),
            Err(Wait::NextStep { .. })
        ));
        assert!(matches!(
            strict.decide(2, Some(now), now),
            Err(Wait::Locked { .. })
        ));
        assert_eq!(strict.decide(3, Some(now), now), Err(Wait::Blocked));
        assert_eq!(CodeThrottle::default(), CodeThrottle::DEFAULT);
    }
}
