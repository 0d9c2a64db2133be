//! SMTP passwords at rest: ChaCha20-Poly1305 under a key derived (SHA-256) from `CRM_SECRET_KEY`.
//! Stored as `v1:` + base64(12-byte nonce || ciphertext and tag).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

const PREFIX: &str = "v1:";

fn cipher(secret: &str) -> ChaCha20Poly1305 {
    let digest = Sha256::digest(format!("crm.mail.password.v1:{secret}").as_bytes());
    ChaCha20Poly1305::new(Key::from_slice(&digest))
}

/// Encrypt `plain` (a fresh random nonce every time).
pub fn seal(secret: &str, plain: &str) -> String {
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher(secret).encrypt(&nonce, plain.as_bytes()).expect("encrypting in memory does not fail");
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// Decrypt what `seal` made; `None` when the key is not the one it was sealed with (or the text
/// was altered).
pub fn open(secret: &str, stored: &str) -> Option<String> {
    let bytes = STANDARD.decode(stored.strip_prefix(PREFIX)?).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(12);
    let plain = cipher(secret).decrypt(Nonce::from_slice(nonce), sealed).ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_only_with_the_same_key() {
        let a = seal("key one", "pässwörd 密码");
        let b = seal("key one", "pässwörd 密码");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("pässwörd"));
        assert_eq!(open("key one", &a).as_deref(), Some("pässwörd 密码"));
        assert_eq!(open("key two", &a), None);
        assert_eq!(open("key one", "v1:AAAA"), None);
        assert_eq!(open("key one", "plain"), None);
    }
}
