//! How names and contact details people type are stored and compared (duplicate checks, the
//! `name_norm` columns): a name's comparison key, phone numbers as digits, e-mail addresses
//! case-insensitively.
//!
//! A name's key (`name`) is what duplicate rules compare, so everything a person cannot see or
//! would not count as a different name is folded away, with the Unicode data of maintained crates:
//!
//! 1. Unicode NFKC (`unicode-normalization`): full-width ASCII, ligatures, mathematical
//!    alphabets (𝐀𝐜𝐦𝐞 → Acme), composed and decomposed accents compare equal;
//! 2. whitespace, punctuation and brackets, control and format characters dropped (general
//!    categories from `unicode-properties`): zero-width spaces and joiners, soft hyphens, BOMs,
//!    word joiners, bidi controls (U+202E...), U+2010 hyphens, （有限公司） = 有限公司;
//! 3. traditional Chinese folded to simplified, character by character (`fast2s`): 客戶 = 客户;
//! 4. lower case, then the UTS #39 confusable skeleton (`unicode-security`, which also drops the
//!    remaining default-ignorable code points): Cyrillic and Greek look-alikes of Latin letters
//!    compare equal (Асme with Cyrillic А and с = Acme).
//!
//! The key is never shown. Keys are stored (`customers.name_norm`, `leads.name_norm`) and
//! computed here only, in Rust: when this function changes, bump `KEY_VERSION` and `rekey`
//! (run by `db::migrate`, so by `crm migrate`, `crm serve` and every test database) recomputes
//! the stored keys once.

use sqlx::PgPool;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// The comparison key of a name (see the module doc): "北京星辰科技（有限公司）",
/// "北京星辰科技有限公司" and "北京星辰科技 有限公司\u{200B}" give the same key.
pub fn name(s: &str) -> String {
    let kept: String = s.nfkc().filter(|c| counts(*c)).collect();
    let simplified = fast2s::convert(&kept);
    let lower: String = simplified.chars().flat_map(char::to_lowercase).collect();
    unicode_security::skeleton(&lower).flat_map(char::to_lowercase).filter(|c| counts(*c)).collect()
}

/// Whether a character counts in a name's key: not a space, punctuation (brackets, hyphens,
/// dots...), control or format character (zero-width and bidi controls are format characters).
fn counts(c: char) -> bool {
    if c.is_whitespace() {
        return false;
    }
    match c.general_category_group() {
        GeneralCategoryGroup::Punctuation | GeneralCategoryGroup::Separator => false,
        GeneralCategoryGroup::Other => {
            !matches!(c.general_category(), GeneralCategory::Control | GeneralCategory::Format)
        }
        _ => true,
    }
}

/// Digits only (and a leading +): "021-6888 1234" → "02168881234".
pub fn phone(s: &str) -> String {
    let folded: String = s.chars().map(fold_width).collect();
    let trimmed = folded.trim();
    let plus = if trimmed.starts_with('+') { "+" } else { "" };
    format!("{plus}{}", trimmed.chars().filter(|c| c.is_ascii_digit()).collect::<String>())
}

pub fn email(s: &str) -> String {
    s.chars().map(fold_width).collect::<String>().trim().to_lowercase()
}

/// Full-width characters folded to half-width, trimmed: "１３８ ０００" → "138 000".
pub fn fold(s: &str) -> String {
    s.chars().map(fold_width).collect::<String>().trim().to_string()
}

fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

// ---------- stored keys ----------

/// The version of `name`'s keys. Bump it whenever `name` (or the Unicode data it uses) changes:
/// `rekey` then recomputes every stored key once. Migration 0036 cleared the stored version, so
/// rows keyed by the old normaliser (width, spaces and case only) were recomputed.
pub const KEY_VERSION: &str = "2";

/// `app_meta` key holding the version the stored keys were computed with.
const VERSION_KEY: &str = "name_key_version";

/// The stored keys: (table, name column, key column). A migration cannot call Rust, so the
/// columns are listed here; their rows are written by their modules with `name` as well.
const KEYED: &[(&str, &str, &str)] = &[("customers", "name", "name_norm"), ("leads", "name", "name_norm")];

/// Rows read per round.
const CHUNK: i64 = 5_000;

/// Session advisory lock held while re-keying (two instances starting at once do it once).
const LOCK: i64 = 0x4352_4d5f_6e6b_0001;

/// Recompute the stored name keys when they were computed by another version of `name` (or
/// `force`: after a bulk insert that wrote none, the benchmark generator's). Only rows whose key
/// changes are written, in chunks of their own transactions, without touching `updated_at` (the
/// touch triggers skip while `crm.rekeying` is on). Returns how many keys changed.
pub async fn rekey(pool: &PgPool, force: bool) -> anyhow::Result<u64> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK).execute(&mut *conn).await?;
    let result = rekey_locked(&mut conn, force).await;
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK).execute(&mut *conn).await?;
    result
}

async fn rekey_locked(conn: &mut sqlx::PgConnection, force: bool) -> anyhow::Result<u64> {
    let stored: Option<String> = sqlx::query_scalar("SELECT value FROM app_meta WHERE key = $1")
        .bind(VERSION_KEY)
        .fetch_optional(&mut *conn)
        .await?;
    if !force && stored.as_deref() == Some(KEY_VERSION) {
        return Ok(0);
    }
    let mut changed = 0u64;
    for (table, source, key) in KEYED {
        let mut last = 0i64;
        loop {
            let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(&format!(
                "SELECT id, {source}, {key} FROM {table} WHERE id > $1 ORDER BY id LIMIT {CHUNK}"
            ))
            .bind(last)
            .fetch_all(&mut *conn)
            .await?;
            let Some(end) = rows.last().map(|r| r.0) else { break };
            last = end;
            let (ids, keys): (Vec<i64>, Vec<String>) = rows
                .into_iter()
                .filter_map(|(id, text, old)| {
                    let new = name(&text);
                    (old.as_deref() != Some(new.as_str())).then_some((id, new))
                })
                .unzip();
            if ids.is_empty() {
                continue;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlx::query("SET LOCAL crm.rekeying = 'on'").execute(&mut *tx).await?;
            let done = sqlx::query(&format!(
                "UPDATE {table} t SET {key} = u.k FROM unnest($1::bigint[], $2::text[]) AS u(id, k) WHERE t.id = u.id"
            ))
            .bind(&ids)
            .bind(&keys)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            changed += done.rows_affected();
        }
    }
    sqlx::query("INSERT INTO app_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2")
        .bind(VERSION_KEY)
        .bind(KEY_VERSION)
        .execute(&mut *conn)
        .await?;
    if changed > 0 {
        tracing::info!(changed, "recomputed the stored name keys (version {KEY_VERSION})");
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn names_compare_loosely() {
        assert_eq!(super::name("  上海ＡＢＣ　科技 "), super::name("上海abc科技"));
        assert_eq!(super::name("Acme Co"), super::name("ACME  co"));
        assert_eq!(super::phone("０２１-6888 1234"), "02168881234");
        assert_eq!(super::phone("+86 138 0000 0000"), "+8613800000000");
        assert_eq!(super::email(" Sales@Example.COM "), "sales@example.com");
    }

    /// Each look-alike the outside probe got past the old normaliser gives the plain name's key.
    #[test]
    fn invisible_accented_hyphenated_confusable_traditional_and_bracketed_names_fold_together() {
        let same = |a: &str, b: &str| assert_eq!(name(a), name(b), "{a:?} vs {b:?}");
        for invisible in
            ['\u{200B}', '\u{200D}', '\u{00AD}', '\u{FEFF}', '\u{2060}', '\u{202E}', '\u{2066}', '\u{200E}']
        {
            same(&format!("上海{invisible}华信"), "上海华信");
            same(&format!("Ac{invisible}me"), "Acme");
        }
        same("Cafe\u{0301} Lumie\u{0300}re", "Café Lumière");
        same("Jean\u{2010}Luc Trading", "Jean-Luc Trading");
        same("Jean\u{2010}Luc Trading", "JeanLuc Trading");
        // Cyrillic А, с, е and о; mathematical bold and double-struck letters.
        same("\u{0410}\u{0441}m\u{0435} B\u{043E}oks", "Acme Books");
        same("𝐀𝐜𝐦𝐞 𝔹𝕠𝕠𝕜𝕤", "Acme Books");
        same("客戶管理有限公司", "客户管理有限公司");
        same("臺灣資訊科技", "台湾资讯科技");
        same("北京星辰科技（有限公司）", "北京星辰科技有限公司");
        same("北京星辰科技【有限公司】", "北京星辰科技(有限公司)");
    }

    #[test]
    fn different_names_stay_different() {
        let differ = |a: &str, b: &str| assert_ne!(name(a), name(b), "{a:?} vs {b:?}");
        differ("上海华信", "上海华新");
        differ("北京星辰科技有限公司", "北京星辰网络有限公司");
        differ("Acme", "Acne");
        differ("华为", "华");
        assert_eq!(name("（）· —"), "");
    }
}
