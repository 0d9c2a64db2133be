//! From a sheet's text to a module's form: which column fills which field (headers matched by
//! name in either language or by key, or as the user mapped them), and each cell turned into
//! the value the form would have posted — a dictionary label into its id, a date into
//! `YYYY-MM-DD`, a user's name into their id. A value that cannot be turned is a row error
//! naming the column and the value, never a silent blank.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Field, Kind, Source};
use crate::dicts::Dicts;
use crate::fields::{self, FieldDef};
use crate::web::FormData;
use crate::web::i18n::Lang;

/// A field a column can fill: one of the module's, or a custom field.
#[derive(Clone, Debug)]
pub struct Target {
    /// The form field: "name", "industry_id", "cf_budget".
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub required: bool,
    pub kind: TargetKind,
}

#[derive(Clone, Debug)]
pub enum TargetKind {
    Field(Kind),
    /// Index into the batch's custom field definitions.
    Custom(usize),
}

impl Target {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.label_zh,
            Lang::En => &self.label_en,
        }
    }

    /// The template's header: the label, required ones marked "*".
    pub fn header(&self, lang: Lang) -> String {
        if self.required { format!("*{}", self.label(lang)) } else { self.label(lang).to_string() }
    }
}

/// Every field a file of `source` may fill: the module's, then its active custom fields.
pub fn targets(source: &Source, defs: &[FieldDef]) -> Vec<Target> {
    let own = source.fields.iter().map(|f: &Field| Target {
        key: f.key.to_string(),
        label_zh: Lang::Zh.t(f.label).to_string(),
        label_en: Lang::En.t(f.label).to_string(),
        required: f.required,
        kind: TargetKind::Field(f.kind),
    });
    let custom = defs.iter().enumerate().map(|(i, d)| Target {
        key: d.input_name(),
        label_zh: d.label_zh.clone(),
        label_en: d.label_en.clone(),
        required: d.required,
        kind: TargetKind::Custom(i),
    });
    own.chain(custom).collect()
}

/// Headers compare without spaces, the required mark, case or full-width forms.
fn header_key(s: &str) -> String {
    crate::records::normalize::name(s.trim().trim_start_matches(['*', '＊']).trim_end_matches(['*', '＊']))
}

/// For each header, the target key it fills: the user's remembered choice for that header
/// text, else a target whose label (either language) or key it is; a target is filled once.
pub fn auto_map(header: &[String], targets: &[Target], remembered: &HashMap<String, String>) -> Vec<Option<String>> {
    let mut taken: Vec<String> = Vec::new();
    header
        .iter()
        .map(|h| {
            let hk = header_key(h);
            let found = match remembered.get(h.trim()) {
                Some(k) if k.is_empty() => None,
                Some(k) => targets.iter().find(|t| &t.key == k).map(|t| t.key.clone()),
                None => targets
                    .iter()
                    .find(|t| {
                        !hk.is_empty()
                            && [header_key(&t.label_zh), header_key(&t.label_en), header_key(&t.key)].contains(&hk)
                    })
                    .map(|t| t.key.clone()),
            };
            let found = found.filter(|k| !taken.contains(k));
            if let Some(k) = &found {
                taken.push(k.clone());
            }
            found
        })
        .collect()
}

/// What rows are turned with: the batch's dictionaries, custom fields and users.
pub struct Lookup<'a> {
    pub dicts: &'a Dicts,
    pub defs: &'a [FieldDef],
    /// (id, name, login) of active users.
    pub users: &'a [(i64, String, String)],
    pub lang: Lang,
}

/// One row as the module's form: `mapping[i]` is the target of column `i`. Err: the messages of
/// the cells that could not be turned ("行业：“火星”不是可选的值").
pub fn to_form(
    cells: &[String],
    mapping: &[Option<usize>],
    targets: &[Target],
    lk: &Lookup<'_>,
) -> Result<FormData, Vec<String>> {
    let mut form = FormData::default();
    let mut errors = Vec::new();
    for (i, target) in mapping.iter().enumerate() {
        let Some(t) = target.map(|t| &targets[t]) else { continue };
        let raw = cells.get(i).map(|s| s.trim()).unwrap_or("");
        if raw.is_empty() {
            continue;
        }
        match value(t, raw, lk) {
            Ok(values) => {
                for v in values {
                    form.push(&t.key, v);
                }
            }
            Err(key) => errors.push(lk.lang.tf(key, &[("field", t.label(lk.lang)), ("value", raw)])),
        }
    }
    if errors.is_empty() { Ok(form) } else { Err(errors) }
}

/// Each mapped column's value as it would be stored, in words (a dictionary item's label, a
/// user's name); a value that cannot be turned shows as typed.
pub fn shown(cells: &[String], mapping: &[Option<usize>], targets: &[Target], lk: &Lookup<'_>) -> Vec<String> {
    mapping
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.map(|t| (i, &targets[t])))
        .map(|(i, t)| {
            let raw = cells.get(i).map(|s| s.trim()).unwrap_or("");
            if raw.is_empty() {
                return String::new();
            }
            let Ok(values) = value(t, raw, lk) else { return raw.to_string() };
            values.iter().map(|v| words(t, v, lk)).collect::<Vec<_>>().join("、")
        })
        .collect()
}

/// A form value in words.
fn words(t: &Target, v: &str, lk: &Lookup<'_>) -> String {
    let user = || lk.users.iter().find(|(id, _, _)| id.to_string() == v).map(|(_, n, _)| n.clone());
    match &t.kind {
        TargetKind::Field(Kind::Dict(_)) => lk.dicts.path_label(v.parse().ok(), lk.lang),
        TargetKind::Field(Kind::Choice(c)) => {
            c.iter().find(|(value, _)| *value == v).map(|(_, l)| lk.lang.t(l).to_string()).unwrap_or_default()
        }
        TargetKind::Field(Kind::User) => user().unwrap_or_default(),
        TargetKind::Custom(i) => match lk.defs[*i].kind() {
            fields::Kind::Select | fields::Kind::MultiSelect => {
                lk.defs[*i].choice(v).map(|c| c.label(lk.lang).to_string()).unwrap_or_default()
            }
            fields::Kind::User => user().unwrap_or_default(),
            fields::Kind::Boolean => lk.lang.t("common.yes").to_string(),
            _ => v.to_string(),
        },
        _ => v.to_string(),
    }
}

/// A cell's form value(s), or the i18n key of why not.
fn value(t: &Target, raw: &str, lk: &Lookup<'_>) -> Result<Vec<String>, &'static str> {
    let one = |v: String| Ok(vec![v]);
    match &t.kind {
        TargetKind::Field(kind) => match kind {
            Kind::Text | Kind::Phone => one(raw.to_string()),
            Kind::Date => date(raw).map(|d| vec![d.to_string()]).ok_or("import.error.date"),
            Kind::DateTime => datetime(raw).map(|d| vec![d]).ok_or("import.error.date"),
            Kind::Number => number(raw).map(|n| vec![n]).ok_or("import.error.number"),
            Kind::Dict(dict) => {
                dict_item(lk.dicts, dict, raw).map(|id| vec![id.to_string()]).ok_or("import.error.option")
            }
            Kind::Choice(choices) => choices
                .iter()
                .find(|(v, label)| same(v, raw) || same(Lang::Zh.t(label), raw) || same(Lang::En.t(label), raw))
                .map(|(v, _)| vec![v.to_string()])
                .ok_or("import.error.option"),
            Kind::User => user(lk.users, raw).map(|id| vec![id.to_string()]).ok_or("import.error.user"),
        },
        TargetKind::Custom(i) => custom(&lk.defs[*i], raw, lk),
    }
}

fn custom(def: &FieldDef, raw: &str, lk: &Lookup<'_>) -> Result<Vec<String>, &'static str> {
    let choice = |v: &str| {
        def.options
            .iter()
            .find(|c| same(&c.value, v) || same(&c.zh, v) || same(&c.en, v))
            .map(|c| c.value.clone())
            .ok_or("import.error.option")
    };
    Ok(match def.kind() {
        fields::Kind::Select => vec![choice(raw)?],
        fields::Kind::MultiSelect => raw
            .split([',', '，', '、', ';', '；'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(choice)
            .collect::<Result<_, _>>()?,
        fields::Kind::Boolean => match raw.to_lowercase().as_str() {
            "是" | "yes" | "y" | "true" | "1" | "√" | "✓" => vec!["1".into()],
            "否" | "no" | "n" | "false" | "0" => vec![],
            _ => return Err("import.error.boolean"),
        },
        fields::Kind::User => vec![user(lk.users, raw).ok_or("import.error.user")?.to_string()],
        fields::Kind::Date => vec![date(raw).ok_or("import.error.date")?.to_string()],
        fields::Kind::DateTime => vec![datetime(raw).ok_or("import.error.date")?],
        fields::Kind::Integer | fields::Kind::Decimal => vec![number(raw).ok_or("import.error.number")?],
        _ => vec![raw.to_string()],
    })
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// A dictionary item by label in either language, code, or a tree path ("广东 / 深圳",
/// "广东/深圳", "广东-深圳") or its last part; enabled items first.
pub fn dict_item(dicts: &Dicts, dict: &str, raw: &str) -> Option<i64> {
    let wanted: String = raw.split(['/', '-', '／', '>']).map(str::trim).collect::<Vec<_>>().join(" / ");
    let last = wanted.rsplit(" / ").next().unwrap_or(&wanted).to_string();
    let items = dicts.items(dict);
    let matches = |it: &crate::dicts::DictItem| {
        [it.label_zh.as_str(), it.label_en.as_str(), it.code.as_deref().unwrap_or("\u{0}")].iter().any(|l| same(l, raw))
            || [Lang::Zh, Lang::En].iter().any(|l| same(&dicts.path_label(Some(it.id), *l), &wanted))
            || (wanted.contains(" / ") && [it.label_zh.as_str(), it.label_en.as_str()].iter().any(|l| same(l, &last)))
    };
    let found: Vec<&crate::dicts::DictItem> = items.iter().copied().filter(|it| matches(it)).collect();
    found.iter().find(|it| dicts.is_active(it.id)).or(found.first()).map(|it| it.id)
}

fn user(users: &[(i64, String, String)], raw: &str) -> Option<i64> {
    users.iter().find(|(_, name, login)| same(name, raw) || same(login, raw)).map(|(id, _, _)| *id)
}

/// The common ways a date is written, an Excel serial number, or a date with a time after it.
pub fn date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    let day = s.split([' ', 'T']).next().unwrap_or(s);
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(day, f) {
            return Some(d);
        }
    }
    // An Excel serial day number in a cell not formatted as a date (1 = 1900-01-01; Excel counts
    // 1900-02-29, so the epoch is 1899-12-30). Only plausible years.
    match s.parse::<i64>() {
        Ok(n) if (20_000..80_000).contains(&n) => {
            NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(n as u64))
        }
        _ => None,
    }
}

/// "2026-03-05 14:30" (what a custom date-time field parses) from the usual forms.
fn datetime(raw: &str) -> Option<String> {
    let d = date(raw)?;
    let time = raw.trim().split([' ', 'T']).nth(1).unwrap_or("00:00");
    let hm: Vec<&str> = time.split(':').collect();
    let (h, m) = (hm.first()?.parse::<u32>().ok()?, hm.get(1).unwrap_or(&"0").parse::<u32>().ok()?);
    (h < 24 && m < 60).then(|| format!("{d} {h:02}:{m:02}"))
}

/// Lay a row's values over a stored record's form (update mode): a field the row fills replaces
/// the stored value(s); one it leaves empty keeps them.
pub fn overlay(form: &mut FormData, row: &FormData) {
    let mut done: Vec<&str> = Vec::new();
    for (k, _) in row.pairs() {
        if done.contains(&k.as_str()) {
            continue;
        }
        done.push(k);
        let values = row.all(k);
        form.set(k, values[0]);
        for v in &values[1..] {
            form.push(k, *v);
        }
    }
}

/// A number exactly as written, without thousands separators or a currency sign.
pub fn number(raw: &str) -> Option<String> {
    let s: String = raw.chars().filter(|c| !matches!(c, ',' | '，' | ' ' | '¥' | '￥' | '$')).collect();
    Decimal::from_str(&s).ok().map(|_| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_common_forms() {
        let want = NaiveDate::from_ymd_opt(2026, 3, 5);
        for s in ["2026-03-05", "2026/3/5", "2026.3.5", "2026年3月5日", "20260305", "2026-03-05 00:00:00", "46086"] {
            assert_eq!(date(s), want, "{s}");
        }
        assert_eq!(date("明天"), None);
    }

    #[test]
    fn numbers_stay_exact() {
        assert_eq!(number("12,345.60").as_deref(), Some("12345.60"));
        assert_eq!(number("￥8 000"), Some("8000".into()));
        assert_eq!(number("12a"), None);
    }
}
