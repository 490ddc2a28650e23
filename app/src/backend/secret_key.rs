//! The key that encrypts secrets at rest (such as two-factor secrets). It is kept outside
//! the database, so a copy of the database alone reveals nothing it protects.

use rand::RngCore;
use std::{fmt, io::Write, path::Path};
use zeroize::Zeroizing;

pub struct SecretKey(Zeroizing<[u8; 32]>);

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        SecretKey(bytes)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(value: &str) -> Result<Self, String> {
        let decoded = Zeroizing::new(
            hex::decode(value.trim())
                .map_err(|_| "the secret key must be 64 hex characters".to_owned())?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| "the secret key must be 64 hex characters (32 bytes)".to_owned())?;
        Ok(SecretKey(Zeroizing::new(bytes)))
    }

    /// Reads the key file, creating it with a new key (readable by its owner only) when it
    /// does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(content) => Self::from_hex(&content).map_err(|e| format!("{}: {e}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options
                    .open(path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                let encoded = Zeroizing::new(hex::encode(key.0.as_ref()));
                file.write_all(encoded.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Ok(key)
            }
            Err(error) => Err(format!("cannot read {}: {error}", path.display())),
        }
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_created_once_and_private() {
        let dir = tempfile_dir();
        let path = dir.join("secret.key");
        let first = SecretKey::load_or_create(&path).unwrap();
        let second = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(first.as_bytes(), second.as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn hex_keys_must_be_32_bytes() {
        assert!(SecretKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(SecretKey::from_hex("abcd").is_err());
        assert!(SecretKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(!format!("{:?}", SecretKey::generate()).contains(char::is_numeric));
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "importops-key-{}",
            super::super::tokens::short_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
