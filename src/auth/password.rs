//! argon2id hashing. Hashing is CPU-heavy, so it runs on the blocking pool, and memory-heavy
//! (~19 MiB per run with the default parameters), so at most `PARALLEL` run at once: a burst of
//! logins queues instead of blowing the 100 MB RSS budget.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::rngs::OsRng;
use tokio::sync::Semaphore;

/// Hashes or verifications running at the same time.
const PARALLEL: usize = 2;
static SLOTS: Semaphore = Semaphore::const_new(PARALLEL);

/// Verified when the login is unknown (or its stored hash unreadable), so that costs the same time
/// as a wrong password. Built by `warm_up` at startup, not by the first login.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_now("not-a-real-password"));

/// Build the dummy hash now (startup), so no login pays for it.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

fn hash_now(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing does not fail with default params")
        .to_string()
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    let slot = SLOTS.acquire().await?;
    let hash = tokio::task::spawn_blocking(move || hash_now(&password)).await?;
    drop(slot);
    Ok(hash)
}

/// `stored` is None for an unknown login: a dummy hash is verified and false returned. A stored
/// value that is not a readable hash is treated the same way (same time, false).
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let slot = SLOTS.acquire().await?;
    let ok = tokio::task::spawn_blocking(move || verify_now(&password, stored.as_deref())).await?;
    drop(slot);
    Ok(ok)
}

fn verify_now(password: &str, stored: Option<&str>) -> bool {
    let parsed = stored.and_then(|s| PasswordHash::new(s).ok());
    let real = parsed.is_some();
    let hash = match parsed {
        Some(h) => h,
        None => PasswordHash::new(&DUMMY_HASH).expect("the dummy hash parses"),
    };
    let ok = Argon2::default().verify_password(password.as_bytes(), &hash).is_ok();
    ok && real
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
        // An unreadable stored hash is never a match, whatever is typed.
        assert!(!verify("not-a-real-password".into(), Some("garbage".into())).await.unwrap());
        assert!(!verify(String::new(), Some(String::new())).await.unwrap());
    }

    /// An unreadable stored hash costs a real verification, like an unknown login (no timing
    /// shortcut: the old early return took microseconds, a verification milliseconds). Fastest
    /// of several runs each, and a wide margin, as the machine may be busy.
    #[test]
    fn unreadable_hashes_take_the_time_of_a_verification() {
        warm_up();
        let fastest = |stored: Option<&str>| {
            (0..5)
                .map(|_| {
                    let t = std::time::Instant::now();
                    assert!(!verify_now("x", stored));
                    t.elapsed()
                })
                .min()
                .unwrap()
        };
        let dummy = fastest(None);
        let garbage = fastest(Some("not a hash"));
        assert!(garbage * 4 > dummy, "garbage {garbage:?} vs dummy {dummy:?}");
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
