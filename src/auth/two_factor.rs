//! Two-factor sign-in: time-based one-time codes (RFC 6238: SHA-1, 6 digits, 30-second steps, as
//! every authenticator app reads them) and one-time recovery codes.
//!
//! - A code is accepted for the current step and one step either side (clocks drift), and never
//!   twice: the last accepted step is stored, and only a later step is taken (`take_step`, one
//!   atomic UPDATE, so two requests with one code cannot both pass).
//! - Recovery codes are shown once and stored as argon2 hashes (the password hasher); each is
//!   marked used by the request that takes it.
//! - The secret is stored as it is (see migration 0037): when it was written the application had
//!   no encryption key; `CRM_SECRET_KEY` (src/mail/crypto.rs) now exists and could seal it too.
//! - Who must use it: holders of a role with `totp_required` (the roles page); such a user who has
//!   not enrolled can open nothing but the enrolment page (`access::routes`).

use base64::Engine;
use chrono::{DateTime, Utc};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use rand::Rng;
use rand::rngs::OsRng;
use sqlx::{PgConnection, PgPool};
use totp_rs::{Algorithm, Secret, TOTP};

use super::password;

/// Seconds per code.
pub const STEP: u64 = 30;
pub const DIGITS: usize = 6;
/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;
/// Where a user who must enrol is sent, and the account page for two-factor sign-in.
pub const ENROL_PATH: &str = "/account/two-factor";
/// Letters and digits of recovery codes: no 0/o, 1/l/i to misread.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const CODE_LEN: usize = 10;

/// A fresh secret: 160 random bits (RFC 4226's recommended length), base32 as apps expect it.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    OsRng.fill(&mut bytes);
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => unreachable!("to_encoded gives an encoded secret"),
    }
}

fn totp(secret: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, bytes).ok()
}

fn now_secs() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

/// The step of `time` (seconds since the epoch).
pub fn step_of(time: u64) -> u64 {
    time / STEP
}

/// The code for `time`, for tests and the enrolment check.
pub fn code_at(secret: &str, time: u64) -> Option<String> {
    totp(secret).map(|t| t.generate(time))
}

/// The step whose code `typed` is, among the step of `time` and one either side; every candidate
/// is compared in full, so the answer takes the same time whichever matched.
pub fn matching_step(secret: &str, typed: &str, time: u64) -> Option<u64> {
    let typed = digits_of(typed)?;
    let t = totp(secret)?;
    let now = step_of(time);
    let mut found = None;
    for step in now.saturating_sub(1)..=now + 1 {
        let code = t.generate(step * STEP);
        let same = code.bytes().zip(typed.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The six digits of a typed code ("123 456" and "123-456" too), or None when it is not one.
pub fn digits_of(typed: &str) -> Option<String> {
    let d: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (d.len() == DIGITS && d.bytes().all(|b| b.is_ascii_digit())).then_some(d)
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(secret: &str, issuer: &str, account: &str) -> String {
    let issuer = uri_escape(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        uri_escape(account)
    )
}

/// Percent-encode everything but RFC 3986's unreserved characters.
fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The QR code of `uri` as an SVG data URL for an `<img>` (the CSP allows `data:` images; no
/// outside service sees the secret).
pub fn qr_data_url(uri: &str) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)?;
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)))
}

/// The secret in groups of four, easier to type into an app by hand.
pub fn grouped(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// A user's two-factor state.
#[derive(sqlx::FromRow, Clone, Debug, Default)]
pub struct State {
    pub secret: Option<String>,
    pub enabled_at: Option<DateTime<Utc>>,
    /// Unused recovery codes.
    pub codes_left: i64,
    /// Whether one of the user's roles requires two-factor sign-in.
    pub required: bool,
}

impl State {
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some() && self.secret.is_some()
    }
}

pub async fn state(db: &PgPool, user_id: i64) -> sqlx::Result<State> {
    sqlx::query_as(
        "SELECT u.totp_secret AS secret, u.totp_enabled_at AS enabled_at,
                (SELECT count(*) FROM user_recovery_codes c WHERE c.user_id = u.id AND c.used_at IS NULL)
                  AS codes_left,
                EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                         WHERE ur.user_id = u.id AND r.totp_required) AS required
           FROM users u WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// Take `step` as the user's last accepted one, if it is later than the stored one. False: this
/// code (or a later one) was already used — a replay.
pub async fn take_step(conn: &mut PgConnection, user_id: i64, step: u64) -> sqlx::Result<bool> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $2
          WHERE id = $1 AND totp_enabled_at IS NOT NULL AND coalesce(totp_last_step, -1) < $2",
    )
    .bind(user_id)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What a typed second factor turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// A current code, now used up.
    Code,
    /// An unused recovery code, now used up.
    Recovery,
    /// A code that was right, but already used (its step or a later one was taken).
    Replayed,
    Wrong,
}

/// Check what the user typed at sign-in: six digits are a code, anything else a recovery code.
/// A code or recovery code that passes is used up by this call.
pub async fn check(db: &PgPool, user_id: i64, secret: &str, typed: &str) -> anyhow::Result<Check> {
    if digits_of(typed).is_some() {
        return check_code(db, user_id, secret, typed).await;
    }
    let typed = normalize_recovery(typed);
    if typed.len() != CODE_LEN {
        return Ok(Check::Wrong);
    }
    let codes: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, code_hash FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_all(db)
            .await?;
    for (id, hash) in codes {
        if password::verify(typed.clone(), Some(hash)).await? {
            let taken = sqlx::query("UPDATE user_recovery_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL")
                .bind(id)
                .execute(db)
                .await?;
            // A concurrent request took it first: it counts as used, like a replayed code.
            return Ok(if taken.rows_affected() == 1 { Check::Recovery } else { Check::Replayed });
        }
    }
    Ok(Check::Wrong)
}

/// A six-digit code only (no recovery codes): enrolment, turning off, new recovery codes.
pub async fn check_code(db: &PgPool, user_id: i64, secret: &str, typed: &str) -> anyhow::Result<Check> {
    let Some(step) = matching_step(secret, typed, now_secs()) else {
        return Ok(Check::Wrong);
    };
    let mut conn = db.acquire().await?;
    Ok(if take_step(&mut conn, user_id, step).await? { Check::Code } else { Check::Replayed })
}

fn normalize_recovery(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// New recovery codes: the codes to show ("abcde-fghjk") and their hashes to store.
pub async fn new_recovery_codes() -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let raw: String = {
            let mut rng = OsRng;
            (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char).collect()
        };
        hashes.push(password::hash(raw.clone()).await?);
        shown.push(format!("{}-{}", &raw[..CODE_LEN / 2], &raw[CODE_LEN / 2..]));
    }
    Ok((shown, hashes))
}

/// Replace the user's recovery codes (the old ones, used or not, are gone).
pub async fn replace_codes(conn: &mut PgConnection, user_id: i64, hashes: &[String]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM user_recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    sqlx::query("INSERT INTO user_recovery_codes (user_id, code_hash) SELECT $1, h FROM unnest($2::text[]) AS h")
        .bind(user_id)
        .bind(hashes)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Turn two-factor sign-in on with a confirmed secret; `step` is the confirming code's, so that
/// code cannot sign in again.
pub async fn enable(
    conn: &mut PgConnection,
    user_id: i64,
    secret: &str,
    step: u64,
    hashes: &[String],
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3
          WHERE id = $1 AND totp_enabled_at IS NULL",
    )
    .bind(user_id)
    .bind(secret)
    .bind(i64::try_from(step).unwrap_or(i64::MAX))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    replace_codes(conn, user_id, hashes).await?;
    Ok(true)
}

/// Turn it off (by the user, or an admin's reset): secret, last step and recovery codes go.
/// Whether it was on.
pub async fn disable(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL
          WHERE id = $1 AND totp_enabled_at IS NOT NULL",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM user_recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 test vectors (secret "12345678901234567890", 8 digits there: the last six
    /// are ours).
    #[test]
    fn rfc_6238_vectors() {
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            _ => unreachable!(),
        };
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
        assert_eq!(code_at(&secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(code_at(&secret, 1_234_567_890).unwrap(), "005924");
        assert_eq!(code_at(&secret, 2_000_000_000).unwrap(), "279037");
    }

    #[test]
    fn one_step_either_side_is_accepted() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        let t = 1_700_000_015;
        let now = step_of(t);
        for (offset, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = (t as i64 + offset * STEP as i64) as u64;
            let code = code_at(&secret, at).unwrap();
            let got = matching_step(&secret, &code, t);
            if ok {
                assert_eq!(got, Some((now as i64 + offset) as u64), "offset {offset}");
            } else {
                // A far code may collide with a near one by chance (1 in a million); compare steps.
                assert_ne!(got, Some((now as i64 + offset) as u64), "offset {offset}");
            }
        }
        assert_eq!(matching_step(&secret, "12345", t), None);
        assert_eq!(matching_step(&secret, "abcdef", t), None);
    }

    #[test]
    fn typed_codes_and_uris() {
        assert_eq!(digits_of(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(digits_of("123-456").as_deref(), Some("123456"));
        assert_eq!(digits_of("1234567"), None);
        assert_eq!(normalize_recovery("ABCDE-fghjk "), "abcdefghjk");
        assert_eq!(
            otpauth_uri("JBSWY3DP", "销售 CRM", "zhang wei"),
            "otpauth://totp/%E9%94%80%E5%94%AE%20CRM:zhang%20wei?secret=JBSWY3DP&issuer=%E9%94%80%E5%94%AE%20CRM&algorithm=SHA1&digits=6&period=30"
        );
        assert!(qr_data_url("otpauth://totp/x").unwrap().starts_with("data:image/svg+xml;base64,"));
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
