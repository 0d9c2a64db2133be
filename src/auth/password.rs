//! argon2id hashing. Hashing is CPU-heavy, so it runs on the blocking pool.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::rngs::OsRng;

/// Verified when the login is unknown, so a wrong login costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_now("not-a-real-password"));

fn hash_now(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing does not fail with default params")
        .to_string()
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    Ok(tokio::task::spawn_blocking(move || hash_now(&password)).await?)
}

/// `stored` is None for an unknown login: a dummy hash is verified and false returned.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    Ok(tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = PasswordHash::new(&stored)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && known
    })
    .await?)
}

/// The strength rule for new passwords: at least 8 characters with letters and digits, and none
/// of the user's own names (login, mobile number). Returns the i18n key of the problem.
pub fn check_strength(password: &str, names: &[&str]) -> Result<(), &'static str> {
    if password.chars().count() < 8 {
        return Err("password.too_short");
    }
    if names.iter().map(|n| n.trim()).any(|n| !n.is_empty() && password.trim().eq_ignore_ascii_case(n)) {
        return Err("password.same_as_login");
    }
    let letters = password.chars().any(|c| c.is_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if !(letters && digits) {
        return Err("password.needs_mix");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("abc12345".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("abc12345".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("abc12346".into(), Some(h)).await.unwrap());
        assert!(!verify("not-a-real-password".into(), None).await.unwrap());
    }

    #[test]
    fn strength() {
        assert_eq!(check_strength("short1", &["x"]), Err("password.too_short"));
        assert_eq!(check_strength("onlyletters", &["x"]), Err("password.needs_mix"));
        assert_eq!(check_strength("12345678", &["x"]), Err("password.needs_mix"));
        assert_eq!(check_strength("zhang123", &["ZHANG123"]), Err("password.same_as_login"));
        assert_eq!(check_strength("zhang123", &["zhangsan"]), Ok(()));
        assert_eq!(check_strength("m13900001111", &["admin", "m13900001111"]), Err("password.same_as_login"));
        assert_eq!(check_strength("zhang123", &["zhangsan", ""]), Ok(()));
    }
}
