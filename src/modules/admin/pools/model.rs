//! The pool form and the rule form, with their validation.

use crate::modules::pool::rules::{Rule, RuleKind};
use crate::web::{FormData, FormErrors};

/// A validated pool.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolInput {
    pub name: String,
    pub claim_cap_per_day: Option<i32>,
    pub reclaim_cooldown_days: i32,
    pub remind_days_before: i32,
    pub member_users: Vec<i64>,
    pub member_depts: Vec<i64>,
    pub admins: Vec<i64>,
}

fn ids(form: &FormData, name: &str) -> Vec<i64> {
    let mut v: Vec<i64> = form.all(name).iter().filter_map(|s| s.trim().parse().ok()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A whole number within `lo..=hi`; blank is `blank`.
fn number(form: &FormData, field: &str, lo: i32, hi: i32, blank: Option<i32>, errors: &mut FormErrors) -> Option<i32> {
    let raw = form.get(field).trim();
    if raw.is_empty() {
        if blank.is_none() {
            errors.add(field, "form.required");
        }
        return blank;
    }
    match raw.parse::<i32>() {
        Ok(n) if (lo..=hi).contains(&n) => Some(n),
        _ => {
            errors.add(field, "pool.error.number");
            blank
        }
    }
}

pub fn check_pool(form: &FormData, errors: &mut FormErrors) -> PoolInput {
    let name = form.get("name").trim().to_string();
    errors.require("name", &name);
    if name.chars().count() > 50 {
        errors.add("name", "customer.error.too_long");
    }
    let cap = match form.get("claim_cap_per_day").trim() {
        "" => None,
        _ => number(form, "claim_cap_per_day", 0, 100_000, None, errors),
    };
    let input = PoolInput {
        name,
        claim_cap_per_day: cap,
        reclaim_cooldown_days: number(form, "reclaim_cooldown_days", 0, 3650, Some(0), errors).unwrap_or(0),
        remind_days_before: number(form, "remind_days_before", 0, 365, Some(0), errors).unwrap_or(0),
        member_users: ids(form, "member_users"),
        member_depts: ids(form, "member_depts"),
        admins: ids(form, "admins"),
    };
    if input.member_users.is_empty() && input.member_depts.is_empty() {
        errors.add("members", "pool.error.no_members");
    }
    input
}

impl PoolInput {
    pub fn to_form(&self) -> FormData {
        let mut f = FormData::default();
        f.set("name", &self.name);
        f.set("claim_cap_per_day", self.claim_cap_per_day.map(|n| n.to_string()).unwrap_or_default());
        f.set("reclaim_cooldown_days", self.reclaim_cooldown_days.to_string());
        f.set("remind_days_before", self.remind_days_before.to_string());
        for u in &self.member_users {
            f.push("member_users", u.to_string());
        }
        for d in &self.member_depts {
            f.push("member_depts", d.to_string());
        }
        for a in &self.admins {
            f.push("admins", a.to_string());
        }
        f
    }
}

/// A validated rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleInput {
    pub kind: RuleKind,
    pub days: i32,
    pub levels: Vec<i16>,
    pub status_ids: Vec<i64>,
    pub exempt_dealt: bool,
    pub exempt_open_opportunities: bool,
    pub enabled: bool,
}

pub fn check_rule(form: &FormData, statuses: &[i64], errors: &mut FormErrors) -> RuleInput {
    let kind = RuleKind::from_code(form.get("kind")).unwrap_or_else(|| {
        errors.add("kind", "form.required");
        RuleKind::NoFollowup
    });
    let days = number(form, "days", 1, 3650, None, errors).unwrap_or(30);
    let mut levels: Vec<i16> = form.all("levels").iter().filter_map(|s| s.trim().parse().ok()).collect();
    if levels.iter().any(|l| !(1..=7).contains(l)) {
        errors.add("levels", "customer.error.level");
    }
    levels.sort_unstable();
    levels.dedup();
    let status_ids = ids(form, "status_ids");
    if status_ids.iter().any(|s| !statuses.contains(s)) {
        errors.add("status_ids", "customer.error.dict");
    }
    RuleInput {
        kind,
        days,
        levels,
        status_ids,
        exempt_dealt: form.has("exempt_dealt"),
        exempt_open_opportunities: form.has("exempt_open_opportunities"),
        enabled: form.has("enabled"),
    }
}

pub fn rule_form(r: &Rule) -> FormData {
    let mut f = FormData::default();
    f.set("kind", &r.kind);
    f.set("days", r.days.to_string());
    for l in &r.levels {
        f.push("levels", l.to_string());
    }
    for s in &r.status_ids {
        f.push("status_ids", s.to_string());
    }
    if r.exempt_dealt {
        f.set("exempt_dealt", "1");
    }
    if r.exempt_open_opportunities {
        f.set("exempt_open_opportunities", "1");
    }
    if r.enabled {
        f.set("enabled", "1");
    }
    f
}

/// The add-rule form as it starts: 30 days without follow-up, enabled.
pub fn blank_rule() -> FormData {
    let mut f = FormData::default();
    f.set("kind", "no_followup");
    f.set("days", "30");
    f.set("enabled", "1");
    f
}
