//! Log filters (query strings where an empty value means "no filter") and login log rows.

use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};
use serde::Deserialize;

use crate::web::i18n::Lang;

/// Results a login attempt can have (see `auth::LoginOutcome`), in the order the filter lists them.
pub const LOGIN_RESULTS: &[&str] =
    &["ok", "bad_credentials", "code_required", "bad_code", "locked", "ip_throttled", "disabled"];

/// Query string of the operation log.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct OpFilter {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub entity: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The operation log filter with its values checked; `None` is "no filter".
#[derive(Default, Debug)]
pub struct OpQuery {
    pub actor: Option<i64>,
    pub entity: Option<String>,
    pub action: Option<String>,
    pub period: Period,
}

impl OpFilter {
    pub fn query(&self, tz: FixedOffset) -> OpQuery {
        OpQuery {
            actor: self.actor.trim().parse().ok(),
            entity: non_empty(&self.entity),
            action: non_empty(&self.action),
            period: Period::new(&self.from, &self.to, tz),
        }
    }

    pub fn is_active(&self) -> bool {
        [&self.actor, &self.entity, &self.action, &self.from, &self.to].iter().any(|v| !v.trim().is_empty())
    }
}

/// Query string of the login log.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct LoginFilter {
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

#[derive(Default, Debug)]
pub struct LoginQuery {
    /// Part of the login name, matched case-insensitively.
    pub login: Option<String>,
    pub result: Option<String>,
    pub period: Period,
}

impl LoginFilter {
    pub fn query(&self, tz: FixedOffset) -> LoginQuery {
        LoginQuery {
            login: non_empty(&self.login),
            result: non_empty(&self.result).filter(|r| LOGIN_RESULTS.contains(&r.as_str())),
            period: Period::new(&self.from, &self.to, tz),
        }
    }

    pub fn is_active(&self) -> bool {
        [&self.login, &self.result, &self.from, &self.to].iter().any(|v| !v.trim().is_empty())
    }
}

/// A period of whole days in the configured timezone: `from` inclusive, `until` exclusive.
#[derive(Default, Debug, PartialEq)]
pub struct Period {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Period {
    /// `from` and `to` are `YYYY-MM-DD` dates (both days included); invalid ones are ignored.
    pub fn new(from: &str, to: &str, tz: FixedOffset) -> Period {
        let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let start = |d: NaiveDate| crate::list::filters::midnight(d, tz);
        Period { from: day(from).map(start), until: day(to).and_then(|d| d.checked_add_days(Days::new(1))).map(start) }
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// A select option: value, label, selected.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl ToString, label: impl Into<String>, current: &str) -> Choice {
        let value = value.to_string();
        let selected = value == current.trim();
        Choice { value, label: label.into(), selected }
    }
}

/// What the entity and action filters offer: every `entity.<x>` (or `audit.action.<x>`) key of
/// the message catalog, the names the log lines are read with. A fixed list on purpose: a
/// `SELECT DISTINCT` over `operation_logs` reads the whole table, millions of rows, on each visit.
/// An entity or action without a catalog key would show as a raw code in the log anyway (the
/// catalog test asks for the key); it is not offered as a filter until it has one.
pub fn catalog_codes(prefix: &str) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = crate::web::i18n::entries(crate::web::i18n::ZH_SOURCE)
        .filter_map(|(key, _)| key.strip_prefix(prefix))
        .filter(|code| !code.is_empty() && !code.contains('.'))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The catalog's name for an entity (`entity.<name>`), else the raw name.
pub fn entity_label(lang: Lang, entity: &str) -> String {
    lang.try_t(&format!("entity.{entity}")).unwrap_or(entity).to_string()
}

/// The catalog's name for an audit action (`audit.action.<x>`), else the raw code.
pub fn action_label(lang: Lang, action: &str) -> String {
    lang.try_t(&format!("audit.action.{action}")).unwrap_or(action).to_string()
}

/// The catalog's name for a login result (`logs.result.<x>`), else the raw code.
pub fn result_label(lang: Lang, result: &str) -> String {
    lang.try_t(&format!("logs.result.{result}")).unwrap_or(result).to_string()
}

/// One operation log line, ready to show.
pub struct OpLine {
    pub at: String,
    pub actor: String,
    pub object: String,
    pub sentences: Vec<String>,
    pub ip: String,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct LoginRow {
    pub at: DateTime<Utc>,
    pub login: String,
    pub user_name: Option<String>,
    pub ip: Option<String>,
    pub user_agent: String,
    pub result: String,
}

impl LoginRow {
    pub fn result_label(&self, lang: &Lang) -> String {
        result_label(*lang, &self.result)
    }

    pub fn result_class(&self) -> &'static str {
        match self.result.as_str() {
            "ok" => "badge-green",
            "bad_credentials" | "bad_code" => "badge-red",
            "locked" | "ip_throttled" => "badge-amber",
            _ => "",
        }
    }

    /// The browser and system the attempt came from ("Chrome 124 · Windows"); the full user
    /// agent goes in a tooltip.
    pub fn agent_short(&self) -> String {
        summarize_agent(&self.user_agent)
    }
}

/// "Chrome 124 · Windows" for the common browsers; anything else is cut to a readable length.
pub fn summarize_agent(ua: &str) -> String {
    const BROWSERS: &[(&str, &str)] = &[
        ("MicroMessenger/", "WeChat"),
        ("DingTalk/", "DingTalk"),
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ];
    const SYSTEMS: &[(&str, &str)] = &[
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Android", "Android"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    const MAX: usize = 48;
    let ua = ua.trim();
    let browser = BROWSERS.iter().find_map(|(token, name)| {
        let at = ua.find(token)? + token.len();
        let major: String = ua[at..].chars().take_while(char::is_ascii_digit).collect();
        Some(if major.is_empty() { name.to_string() } else { format!("{name} {major}") })
    });
    let system = SYSTEMS.iter().find(|(token, _)| ua.contains(token)).map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(b), None) => b,
        _ if ua.chars().count() <= MAX => ua.to_string(),
        _ => {
            let cut: String = ua.chars().take(MAX).collect();
            format!("{}…", cut.trim_end())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_summarised() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
        assert_eq!(summarize_agent(chrome), "Chrome 124 · Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0.2478.80";
        assert_eq!(summarize_agent(edge), "Edge 124 · Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        assert_eq!(summarize_agent(safari), "Safari 17 · iOS");
        let wechat = "Mozilla/5.0 (Linux; Android 13; V2049A) AppleWebKit/537.36 Chrome/107.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560";
        assert_eq!(summarize_agent(wechat), "WeChat 8 · Android");
        assert_eq!(summarize_agent("curl/8.5.0"), "curl/8.5.0");
        assert_eq!(summarize_agent(&"x".repeat(60)).chars().count(), 49);
        assert_eq!(summarize_agent(""), "");
    }

    #[test]
    fn filter_options_come_from_the_catalog() {
        let entities = catalog_codes("entity.");
        for e in ["customer", "user", "role", "department", "field_def", "number_rule", "dict_item"] {
            assert!(entities.contains(&e), "{e}");
        }
        let actions = catalog_codes("audit.action.");
        for a in ["create", "update", "delete", "handover", "disable", "password_reset", "copy"] {
            assert!(actions.contains(&a), "{a}");
        }
        assert!(actions.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
    }

    #[test]
    fn periods_are_whole_local_days() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let p = Period::new("2024-03-01", "2024-03-02", tz);
        assert_eq!(p.from.unwrap().to_rfc3339(), "2024-02-29T16:00:00+00:00", "midnight in +08:00");
        assert_eq!(p.until.unwrap().to_rfc3339(), "2024-03-02T16:00:00+00:00");
        assert_eq!(Period::new("", "nonsense", tz), Period::default());
    }
}
