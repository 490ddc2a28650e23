//! Recovery codes: ten single-use codes, shown once at enrolment, each of which stands in
//! for an authenticator code when the phone is lost.
//!
//! A code is ten characters of Crockford's base32 alphabet, shown in lower case as
//! `xxxxx-xxxxx`. The alphabet has no `i`, `l`, `o` or `u`, so nothing on the printed page
//! can be misread: `o` is read as zero and `i` and `l` as one, whatever the case, and
//! spaces and dashes are ignored. Each character carries 5 bits: 50 per code (M9's floor).
//!
//! Only SHA-256 digests are stored, not Argon2 hashes, because the codes are 50 random bits
//! from a CSPRNG rather than anything a person chose, so there is no dictionary to try:
//! someone with a copy of the database needs about 2^49 digests to recover one code. An
//! unsalted digest also lets the database find the matching row by value and delete it in
//! one statement, which is what makes a code single-use when two requests race; a salted
//! slow hash would need up to ten Argon2 runs per attempt instead. The cost of no salt is
//! that one guess is tried against every stored code at once, which helps find *some*
//! account's second factor; that code is still useless without the account's password.

use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// How many codes a person gets at enrolment (and each time they ask for new ones).
pub const CODES_PER_SET: usize = 10;
/// Characters in a code, not counting the dash.
pub const CODE_CHARS: usize = 10;
const BITS_PER_CHAR: usize = 5;
/// Random bits in each code.
pub const CODE_BITS: usize = CODE_CHARS * BITS_PER_CHAR;
// The checklist's floor (M9), held at compile time.
const _: () = assert!(CODE_BITS >= 50);
/// Where the dash goes when a code is shown.
const GROUP_CHARS: usize = 5;
/// Anything longer is refused unread.
const MAX_INPUT_BYTES: usize = 64;

/// Crockford's base32 alphabet, in lower case: 32 symbols, so 5 bits each, uniformly.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A recovery code as shown to the person, once. Never printed, never serialised, wiped
/// from memory when dropped.
pub struct RecoveryCode(Zeroizing<String>);

impl RecoveryCode {
    /// The code as the person should write it down: `xxxxx-xxxxx`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(…)")
    }
}

/// A new set of codes: the codes to show once, and the digests to store in their place
/// (in the same order). The codes in a set are all different.
pub fn generate() -> (Vec<RecoveryCode>, Vec<String>) {
    let mut rng = rand::rng();
    let mut codes = Vec::with_capacity(CODES_PER_SET);
    let mut hashes: Vec<String> = Vec::with_capacity(CODES_PER_SET);
    while codes.len() < CODES_PER_SET {
        let code = random_code(&mut rng);
        let Some(hash) = hash(code.as_str()) else {
            continue;
        };
        // Two equal codes in a set are a one-in-10^13 event; drawing again costs nothing.
        if !hashes.contains(&hash) {
            codes.push(code);
            hashes.push(hash);
        }
    }
    (codes, hashes)
}

/// The digest to store for a code, or look a typed code up by: hex SHA-256 of its
/// normalised form. `None` when the input cannot be a recovery code (wrong length, or a
/// character outside the alphabet), so the caller can refuse it without a query.
pub fn hash(code: &str) -> Option<String> {
    let normalised = normalise(code)?;
    Some(hex::encode(Sha256::digest(normalised.as_slice())))
}

/// Which of the stored digests the typed code matches, if any, comparing with each in
/// constant time. For callers holding the account's digests in memory; a caller that looks
/// the digest up in the database gets the same answer from [`hash`].
pub fn find<S: AsRef<str>>(code: &str, stored_hashes: &[S]) -> Option<usize> {
    let candidate = hash(code)?;
    let mut found = None;
    for (index, stored) in stored_hashes.iter().enumerate() {
        let same: bool = candidate
            .as_bytes()
            .ct_eq(stored.as_ref().as_bytes())
            .into();
        if same && found.is_none() {
            found = Some(index);
        }
    }
    found
}

fn random_code(rng: &mut impl RngCore) -> RecoveryCode {
    // 64 random bits, of which the first 50 are used, five per character: with 32 symbols
    // every character is uniform, with no modulo bias.
    let mut bits = Zeroizing::new(rng.next_u64());
    let mut text = Zeroizing::new(String::with_capacity(CODE_CHARS + 1));
    for index in 0..CODE_CHARS {
        if index == GROUP_CHARS {
            text.push('-');
        }
        let symbol = ALPHABET[(*bits % 32) as usize];
        text.push(char::from(symbol));
        *bits >>= BITS_PER_CHAR;
    }
    RecoveryCode(text)
}

/// The ten characters of a typed code in canonical form: lower case, without spaces or
/// dashes, with the look-alikes `o`, `i` and `l` read as `0`, `1` and `1`.
fn normalise(code: &str) -> Option<Zeroizing<[u8; CODE_CHARS]>> {
    if code.len() > MAX_INPUT_BYTES {
        return None;
    }
    let mut canonical = Zeroizing::new([0u8; CODE_CHARS]);
    let mut count = 0;
    for character in code.chars() {
        if character.is_whitespace() || character == '-' {
            continue;
        }
        let byte = match u8::try_from(character).ok()?.to_ascii_lowercase() {
            b'o' => b'0',
            b'i' | b'l' => b'1',
            other => other,
        };
        if !ALPHABET.contains(&byte) || count == CODE_CHARS {
            return None;
        }
        canonical[count] = byte;
        count += 1;
    }
    (count == CODE_CHARS).then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn is_code_shape(code: &str) -> bool {
        let bytes = code.as_bytes();
        bytes.len() == CODE_CHARS + 1
            && bytes.iter().enumerate().all(|(index, byte)| {
                if index == GROUP_CHARS {
                    *byte == b'-'
                } else {
                    ALPHABET.contains(byte)
                }
            })
    }

    #[test]
    fn a_set_is_ten_distinct_codes_with_their_digests() {
        let (codes, hashes) = generate();
        assert_eq!(codes.len(), CODES_PER_SET);
        assert_eq!(hashes.len(), CODES_PER_SET);
        for (code, stored) in codes.iter().zip(&hashes) {
            assert!(is_code_shape(code.as_str()), "{}", code.as_str());
            assert_eq!(hash(code.as_str()).as_ref(), Some(stored));
            assert_eq!(stored.len(), 64);
            assert!(stored.chars().all(|c| c.is_ascii_hexdigit()));
        }
        let distinct: HashSet<&str> = codes.iter().map(RecoveryCode::as_str).collect();
        assert_eq!(distinct.len(), CODES_PER_SET);

        let (again, _) = generate();
        assert!(
            again.iter().all(|code| !distinct.contains(code.as_str())),
            "a new set shares nothing with the last"
        );
    }

    #[test]
    fn codes_carry_at_least_50_bits() {
        let symbols: HashSet<u8> = ALPHABET.iter().copied().collect();
        assert_eq!(symbols.len(), 1 << BITS_PER_CHAR);
        assert!(!ALPHABET.iter().any(|c| b"ilou".contains(c)));

        // Every symbol turns up in every position: 2,000 codes give each about 62 chances,
        // so a missing one would point at a bias, not bad luck (odds about 10^-25).
        let mut seen = vec![HashSet::new(); CODE_CHARS];
        for _ in 0..200 {
            for code in generate().0 {
                let compact = code.as_str().replace('-', "");
                for (position, symbol) in compact.bytes().enumerate() {
                    seen[position].insert(symbol);
                }
            }
        }
        for (position, symbols) in seen.iter().enumerate() {
            assert_eq!(symbols.len(), ALPHABET.len(), "position {position}");
        }
    }

    #[test]
    fn digests_are_sha256_of_the_normalised_code() {
        assert_eq!(
            hash("01abc-defgh").as_deref(),
            Some("d7a15aaa8390bb2aeb893d65077041096793e966a26ff4c75e26cd58dd12b546")
        );
    }

    #[test]
    fn case_spaces_dashes_and_look_alikes_do_not_matter() {
        let expected = hash("01abc-defgh");
        for typed in [
            "01abcdefgh",
            "01ABC-DEFGH",
            " 01abc defgh ",
            "01-ab-cd-ef-gh",
            "O1abc-defgh",
            "oIabc-defgh",
            "0labc-defgh",
            "0Labc\tdefgh\n",
        ] {
            assert_eq!(hash(typed), expected, "{typed:?}");
        }
        assert_ne!(hash("01abc-defgj"), expected);
    }

    #[test]
    fn malformed_codes_have_no_digest() {
        let long = format!("01abc-defgh{}", " ".repeat(MAX_INPUT_BYTES));
        for typed in [
            "",
            "01abc-defg",
            "01abc-defghj",
            "01abc-defgu",
            "01abc_defgh",
            "01abc-defg!",
            "01abc-défgh",
            "０1abc-defgh",
            long.as_str(),
        ] {
            assert_eq!(hash(typed), None, "{typed:?}");
            assert_eq!(find(typed, &[hash("01abc-defgh").unwrap()]), None);
        }
    }

    #[test]
    fn find_names_the_matching_stored_digest() {
        let (codes, hashes) = generate();
        assert_eq!(find(codes[3].as_str(), &hashes), Some(3));
        let shouted = codes[7].as_str().to_uppercase().replace('-', " ");
        assert_eq!(find(&shouted, &hashes), Some(7));
        assert_eq!(find("01abc-defgh", &hashes), None);
        assert_eq!(find(codes[0].as_str(), &[] as &[String]), None);
    }

    #[test]
    fn debug_output_never_shows_a_code() {
        let (codes, _) = generate();
        let printed = format!("{codes:?}");
        assert!(codes.iter().all(|code| !printed.contains(code.as_str())));
        assert!(printed.starts_with("[RecoveryCode(…)"));
    }
}
