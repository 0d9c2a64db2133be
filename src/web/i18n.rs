//! The one message catalog. `i18n/<lang>/<area>.txt` files hold `key = text` lines (build.rs
//! joins each language's files); `{name}` placeholders are filled by `tf`. A test checks both
//! languages have the same keys, no key is defined twice, and every key in use exists.

use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub const ALL: &'static [Lang] = &[Lang::Zh, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let c = code.trim().to_ascii_lowercase();
        if c == "zh" || c.starts_with("zh-") || c.starts_with("zh_") {
            Some(Lang::Zh)
        } else if c == "en" || c.starts_with("en-") || c.starts_with("en_") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The user's own name for the language, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Zh => "中文",
            Lang::En => "English",
        }
    }

    /// Best match for an Accept-Language header, honouring q-values; `q=0` means "not this one".
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut tags: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let lang = Lang::from_code(it.next()?)?;
                let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse().ok()).unwrap_or(1.0);
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        tags.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        tags.first().map(|t| t.1)
    }

    pub fn t(self, key: &str) -> &'static str {
        lookup(self, key)
    }

    /// The text for `key` when the catalog has it (for optional, more specific labels).
    pub fn try_t(self, key: &str) -> Option<&'static str> {
        catalog(self).get(key).copied()
    }

    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = lookup(self, key).to_string();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }
}

type Catalog = HashMap<&'static str, &'static str>;

pub const ZH_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/zh-CN.txt"));
pub const EN_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/en.txt"));

static ZH: LazyLock<Catalog> = LazyLock::new(|| parse(ZH_SOURCE));
static EN: LazyLock<Catalog> = LazyLock::new(|| parse(EN_SOURCE));

pub fn parse(src: &'static str) -> Catalog {
    entries(src).collect()
}

/// Every `key = text` line, in order (duplicates included, for the catalog test).
pub fn entries(src: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    src.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
}

fn catalog(lang: Lang) -> &'static Catalog {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

fn lookup(lang: Lang, key: &str) -> &'static str {
    match catalog(lang).get(key) {
        Some(v) => v,
        None => missing(lang, key),
    }
}

/// A key the catalog lacks shows as itself. Misses are bugs the catalog test catches; each
/// distinct one is logged and kept once, so a page that repeats a miss does not grow memory.
fn missing(lang: Lang, key: &str) -> &'static str {
    static MISSES: std::sync::Mutex<Option<HashMap<String, &'static str>>> = std::sync::Mutex::new(None);
    let mut misses = MISSES.lock().unwrap_or_else(|e| e.into_inner());
    let misses = misses.get_or_insert_with(HashMap::new);
    if let Some(v) = misses.get(key) {
        return v;
    }
    tracing::warn!(key, lang = lang.code(), "missing translation");
    let v: &'static str = Box::leak(key.to_string().into_boxed_str());
    misses.insert(key.to_string(), v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_respects_q() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr, zh-CN;q=0.9, en;q=0.5"), Some(Lang::Zh));
        assert_eq!(Lang::from_accept_language("fr-FR"), None);
        // q=0 rules a language out, even when it comes first.
        assert_eq!(Lang::from_accept_language("en;q=0, zh-CN;q=0.5"), Some(Lang::Zh));
        assert_eq!(Lang::from_accept_language("zh;q=0.0, en;q=0.1"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("en;q=0"), None);
    }

    #[test]
    fn placeholders() {
        assert_eq!(Lang::En.tf("login.locked", &[("time", "10:15")]).contains("10:15"), true);
    }
}
