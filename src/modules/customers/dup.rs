//! Duplicate checks for customers, contacts and leads: the admin's rules per kind and field
//! (customers: name, phone, mobile, e-mail; contacts: phone, mobile, e-mail; leads: company name,
//! phone, mobile, e-mail — each on/off, whole company or same department, warn or block), the
//! kernel the create / edit / import / conversion paths call (`find`, `find_with`), and the "check
//! for duplicates" page reps use before creating a customer (`check_page`).
//!
//! Values are compared normalised (`crate::records::normalize`): names by their comparison key
//! (`name_norm`, computed in Rust: invisible characters, punctuation, brackets, traditional
//! characters and look-alike letters folded away); phone numbers by their digits (`phone_norm`,
//! `mobile_norm`); e-mail addresses case-insensitively. A hit always names the owner (or the public
//! pool) but names the record only when the viewer may see it.
//!
//! A blocking rule holds under concurrency: `find_with` takes a transaction-level advisory lock
//! per value a blocking rule checks (kind, field, normalised value) before looking, so of two
//! saves of the same new name the second waits until the first commits, then sees its row. Call
//! it inside the transaction that inserts (or updates) the record.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::access::{Action, DataScope, Module};
use crate::error::AppResult;
use crate::records::sql::{Bin, push_bin, push_visible};
use crate::records::{RecordDef, normalize};
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, render};

/// Every field a rule can exist for, in display order.
pub const FIELDS: [&str; 4] = ["name", "phone", "mobile", "email"];

/// A kind of record with duplicate rules: its record descriptor (table, title, visibility),
/// the fields it has rules for, and where its words come from. Contacts and leads declare theirs
/// in their modules (`contacts::DUPLICATES`, `leads::DUPLICATES`).
pub struct Kind {
    pub def: &'static RecordDef,
    /// Some of `FIELDS`, in display order.
    pub fields: &'static [&'static str],
    /// The catalog key of each field's label, in `fields` order.
    pub labels: &'static [&'static str],
    /// The catalog key of the kind's heading on the rules page.
    pub title: &'static str,
    /// Prefix of the hit messages' keys: "crules.dup." for customers ("…named_owned" and so on).
    pub messages: &'static str,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.def.entity)
    }
}

impl Kind {
    pub fn entity(&self) -> &'static str {
        self.def.entity
    }

    /// The catalog key of a field's label ("客户名称", "手机", ...).
    pub fn label_key(&self, field: &str) -> &'static str {
        self.fields.iter().position(|f| *f == field).map_or("crules.field.email", |i| self.labels[i])
    }

    fn static_field(&self, field: &str) -> Option<&'static str> {
        self.fields.iter().copied().find(|f| *f == field)
    }
}

pub static CUSTOMERS: Kind = Kind {
    def: &super::RECORD,
    fields: &FIELDS,
    labels: &["crules.field.name", "crules.field.phone", "crules.field.mobile", "crules.field.email"],
    title: "crules.dup.kind.customer",
    messages: "crules.dup.",
};

/// Most hits reported per field (a common switchboard number may match hundreds).
const HITS_PER_FIELD: i64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Tell the user and let them confirm.
    Warn,
    /// Refuse to save.
    Block,
}

impl Effect {
    pub fn code(self) -> &'static str {
        match self {
            Effect::Warn => "warn",
            Effect::Block => "block",
        }
    }

    pub fn from_code(code: &str) -> Option<Effect> {
        match code {
            "warn" => Some(Effect::Warn),
            "block" => Some(Effect::Block),
            _ => None,
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Effect::Warn => "crules.effect.warn",
            Effect::Block => "crules.effect.block",
        }
    }
}

/// Which records a rule compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleScope {
    /// Every live record of the kind, the public pool included.
    Company,
    /// Records owned by someone in the same department as the (future) owner.
    Dept,
}

impl RuleScope {
    pub fn code(self) -> &'static str {
        match self {
            RuleScope::Company => "company",
            RuleScope::Dept => "dept",
        }
    }

    pub fn from_code(code: &str) -> Option<RuleScope> {
        match code {
            "company" => Some(RuleScope::Company),
            "dept" => Some(RuleScope::Dept),
            _ => None,
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            RuleScope::Company => "crules.scope.company",
            RuleScope::Dept => "crules.scope.dept",
        }
    }
}

/// One row of `dup_rules`.
#[derive(Clone, Copy)]
pub struct Rule {
    pub kind: &'static Kind,
    /// One of the kind's fields.
    pub field: &'static str,
    pub enabled: bool,
    pub scope: RuleScope,
    pub effect: Effect,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{} {} {:?} {:?}", self.kind.entity(), self.field, self.enabled, self.scope, self.effect)
    }
}

impl PartialEq for Rule {
    fn eq(&self, o: &Rule) -> bool {
        self.kind.entity() == o.kind.entity()
            && (self.field, self.enabled, self.scope, self.effect) == (o.field, o.enabled, o.scope, o.effect)
    }
}

impl Eq for Rule {}

impl Rule {
    /// Stable small id of the rule in the operation log: customers 1 name, 2 phone, 3 mobile,
    /// 4 email; contacts 12–14, leads 21–24 (kind × 10 + the field's place in `FIELDS`).
    pub fn audit_id(&self) -> i64 {
        let kind = match self.kind.entity() {
            "contact" => 10,
            "lead" => 20,
            _ => 0,
        };
        kind + field_index(self.field) as i64 + 1
    }
}

/// The catalog key of a customer field's label ("客户名称", "电话", ...).
pub fn field_label_key(field: &str) -> &'static str {
    CUSTOMERS.label_key(field)
}

fn field_index(field: &str) -> usize {
    FIELDS.iter().position(|f| *f == field).unwrap_or(FIELDS.len())
}

/// The customer rules, in `FIELDS` order.
pub async fn rules(conn: &mut PgConnection) -> sqlx::Result<Vec<Rule>> {
    rules_of(conn, &CUSTOMERS).await
}

/// A kind's rules, in its fields' order (a field without a row counts as disabled).
pub async fn rules_of(conn: &mut PgConnection, kind: &'static Kind) -> sqlx::Result<Vec<Rule>> {
    let rows: Vec<(String, bool, String, String)> =
        sqlx::query_as("SELECT field, enabled, scope, effect FROM dup_rules WHERE entity = $1")
            .bind(kind.entity())
            .fetch_all(conn)
            .await?;
    Ok(kind
        .fields
        .iter()
        .map(|&field| {
            let row = rows.iter().find(|r| r.0 == field);
            Rule {
                kind,
                field,
                enabled: row.is_some_and(|r| r.1),
                scope: row.and_then(|r| RuleScope::from_code(&r.2)).unwrap_or(RuleScope::Company),
                effect: row.and_then(|r| Effect::from_code(&r.3)).unwrap_or(Effect::Warn),
            }
        })
        .collect())
}

/// Store one rule (the admin page; the caller audits).
pub async fn save_rule(conn: &mut PgConnection, rule: &Rule) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO dup_rules (entity, field, enabled, scope, effect) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (entity, field) DO UPDATE SET enabled = EXCLUDED.enabled, scope = EXCLUDED.scope,
           effect = EXCLUDED.effect",
    )
    .bind(rule.kind.entity())
    .bind(rule.field)
    .bind(rule.enabled)
    .bind(rule.scope.code())
    .bind(rule.effect.code())
    .execute(conn)
    .await?;
    Ok(())
}

/// What is being saved (raw values as typed; you normalise).
pub struct Candidate<'a> {
    /// The record being edited, which must not match itself.
    pub exclude_id: Option<i64>,
    /// The name (customers, leads); empty when not checked (contacts, an unchanged name).
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub email: Option<&'a str>,
    /// The owner the record will have; `None` for the public pool.
    pub owner_id: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct DupHit {
    /// name | phone | mobile | email
    pub field: &'static str,
    pub effect: Effect,
    /// The matching record's id (a customer, contact or lead: the rule's kind).
    pub customer_id: i64,
    /// Its name, only when the viewer may see that record (scope predicate); otherwise None.
    pub customer_name: Option<String>,
    /// None when the record has no owner (a customer in the public pool).
    pub owner_name: Option<String>,
    kind: &'static Kind,
}

impl DupHit {
    /// The matching record's id.
    pub fn record_id(&self) -> i64 {
        self.customer_id
    }

    /// The sentence for the form: e.g. "客户名称与「上海华信」重复，已被 张三 添加" or, when the
    /// viewer cannot see it, "客户名称已被 张三 添加" / "客户名称已在公海中".
    pub fn message(&self, lang: Lang) -> String {
        let field = lang.t(self.kind.label_key(self.field));
        let variant = match (&self.customer_name, &self.owner_name) {
            (Some(_), Some(_)) => "named_owned",
            (Some(_), None) => "named_pool",
            (None, Some(_)) => "owned",
            (None, None) => "pool",
        };
        lang.tf(
            &format!("{}{variant}", self.kind.messages),
            &[
                ("field", field),
                ("customer", self.customer_name.as_deref().unwrap_or_default()),
                ("owner", self.owner_name.as_deref().unwrap_or_default()),
            ],
        )
    }

    pub fn blocks(&self) -> bool {
        self.effect == Effect::Block
    }
}

/// Whether any hit refuses the save.
pub fn any_block(hits: &[DupHit]) -> bool {
    hits.iter().any(DupHit::blocks)
}

/// A value to look for: the field, its normalised form, and the column it is compared with.
struct Probe {
    field: &'static str,
    value: String,
}

impl Probe {
    fn column(&self) -> &'static str {
        match self.field {
            "name" => "t.name_norm = ",
            "phone" => "t.phone_norm = ",
            "mobile" => "t.mobile_norm = ",
            _ => "lower(t.email) = ",
        }
    }
}

fn probes(candidate: &Candidate<'_>) -> Vec<Probe> {
    let mut out = Vec::new();
    let mut add = |field: &'static str, value: String| {
        if !value.is_empty() {
            out.push(Probe { field, value });
        }
    };
    add("name", normalize::name(candidate.name));
    add("phone", candidate.phone.map(normalize::phone).unwrap_or_default());
    add("mobile", candidate.mobile.map(normalize::phone).unwrap_or_default());
    add("email", candidate.email.map(normalize::email).unwrap_or_default());
    out
}

#[derive(sqlx::FromRow)]
struct HitRow {
    field: String,
    id: i64,
    name: String,
    owner_name: Option<String>,
    visible: bool,
    /// The owner is in the department the dept-scoped rules compare with.
    same_dept: bool,
}

/// One `SELECT` per probe, joined with UNION ALL; each arm uses its field's partial index.
#[allow(clippy::too_many_arguments)]
async fn search(
    conn: &mut PgConnection,
    kind: &'static Kind,
    probes: &[Probe],
    exclude_id: Option<i64>,
    dept_only: &[&str],
    dept_id: i64,
    viewer: &DataScope,
    per_field: i64,
) -> sqlx::Result<Vec<HitRow>> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let def = kind.def;
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("");
    for (i, p) in probes.iter().enumerate() {
        if i > 0 {
            qb.push(" UNION ALL ");
        }
        qb.push("(SELECT ")
            .push_bind(p.field)
            .push(format_args!("::text AS field, t.id, {} AS name, u.name AS owner_name, coalesce(", def.title));
        // An unowned record (a pool customer) makes the owner arm NULL rather than false.
        if def.parent.is_some() {
            // Contacts: seen by whoever sees their customer too.
            push_visible(&mut qb, def, viewer);
        } else {
            viewer.push_visible(&mut qb, "t", def.entity);
        }
        qb.push(", false) AS visible, coalesce(u.dept_id = ").push_bind(dept_id).push(format_args!(
            ", false) AS same_dept FROM {} t LEFT JOIN users u ON u.id = t.owner_id WHERE",
            def.table
        ));
        push_bin(&mut qb, def, Bin::Live);
        qb.push(" AND ").push(p.column()).push_bind(p.value.clone());
        if let Some(x) = exclude_id {
            qb.push(" AND t.id <> ").push_bind(x);
        }
        if dept_only.contains(&p.field) {
            qb.push(" AND u.dept_id = ").push_bind(dept_id);
        }
        qb.push(" ORDER BY t.id LIMIT ").push_bind(per_field).push(")");
    }
    let mut rows: Vec<HitRow> = qb.build_query_as().fetch_all(conn).await?;
    rows.sort_by_key(|r| (field_index(&r.field), r.id));
    Ok(rows)
}

/// The department dept-scoped rules compare within: the future owner's, else the viewer's.
async fn compare_dept(conn: &mut PgConnection, owner_id: Option<i64>, viewer: &DataScope) -> sqlx::Result<i64> {
    let Some(owner) = owner_id else {
        return Ok(viewer.dept_id);
    };
    let dept: Option<i64> =
        sqlx::query_scalar("SELECT dept_id FROM users WHERE id = $1").bind(owner).fetch_optional(conn).await?;
    Ok(dept.unwrap_or(viewer.dept_id))
}

/// Live (not deleted) customers matching the enabled customer rules. Scope 'dept' compares only
/// with customers whose owner is in the same department as `candidate.owner_id` (or the viewer
/// when owner is None). `viewer` decides what is revealed.
pub async fn find(conn: &mut PgConnection, candidate: &Candidate<'_>, viewer: &DataScope) -> sqlx::Result<Vec<DupHit>> {
    find_of(conn, &CUSTOMERS, candidate, viewer).await
}

/// `find` for any kind with rules.
pub async fn find_of(
    conn: &mut PgConnection,
    kind: &'static Kind,
    candidate: &Candidate<'_>,
    viewer: &DataScope,
) -> sqlx::Result<Vec<DupHit>> {
    let rules = rules_of(&mut *conn, kind).await?;
    find_with(conn, &rules, candidate, viewer).await
}

/// `find_of` with the rules already read (an import reads them once per batch; the rules say
/// which kind). Values a blocking rule checks are locked first, until the caller's transaction
/// ends (see the module doc).
pub async fn find_with(
    conn: &mut PgConnection,
    rules: &[Rule],
    candidate: &Candidate<'_>,
    viewer: &DataScope,
) -> sqlx::Result<Vec<DupHit>> {
    let Some(kind) = rules.first().map(|r| r.kind) else {
        return Ok(Vec::new());
    };
    let enabled = |field: &str| rules.iter().find(|r| r.field == field && r.enabled);
    let probes: Vec<Probe> = probes(candidate).into_iter().filter(|p| enabled(p.field).is_some()).collect();
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    lock_blocked(conn, rules, std::slice::from_ref(candidate)).await?;
    let dept_only: Vec<&str> = rules.iter().filter(|r| r.scope == RuleScope::Dept).map(|r| r.field).collect();
    let dept_id =
        if dept_only.is_empty() { viewer.dept_id } else { compare_dept(conn, candidate.owner_id, viewer).await? };
    let rows = search(conn, kind, &probes, candidate.exclude_id, &dept_only, dept_id, viewer, HITS_PER_FIELD).await?;
    Ok(rows.into_iter().filter_map(|r| hit(rules, r)).collect())
}

fn hit(rules: &[Rule], r: HitRow) -> Option<DupHit> {
    let rule = rules.iter().find(|x| x.field == r.field)?;
    Some(DupHit {
        field: rule.field,
        effect: rule.effect,
        customer_id: r.id,
        customer_name: r.visible.then_some(r.name),
        owner_name: r.owner_name,
        kind: rule.kind,
    })
}

/// Lock every value of `candidates` a blocking rule checks, until the transaction ends, in one
/// statement and in one order for everyone (sorted here), so that two saves locking the same
/// values cannot deadlock.
async fn lock_blocked(conn: &mut PgConnection, rules: &[Rule], candidates: &[Candidate<'_>]) -> sqlx::Result<()> {
    let mut keys: Vec<String> = candidates
        .iter()
        .flat_map(probes)
        .filter(|p| rules.iter().any(|r| r.field == p.field && r.enabled && r.effect == Effect::Block))
        .filter_map(|p| rules.first().map(|r| format!("dup:{}:{}:{}", r.kind.entity(), p.field, p.value)))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort();
    keys.dedup();
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))
           FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS x(k, n) ORDER BY n) AS sorted",
    )
    .bind(keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// The values the enabled rules compare of a candidate, normalised, as (field, value): two
/// candidates sharing one would be duplicates of each other.
pub fn keys(rules: &[Rule], candidate: &Candidate<'_>) -> Vec<(&'static str, String)> {
    probes(candidate)
        .into_iter()
        .filter(|p| rules.iter().any(|r| r.field == p.field && r.enabled))
        .map(|p| (p.field, p.value))
        .collect()
}

/// `find_with` for many candidates at once (an import's chunk): the blocking values locked and
/// one query per enabled rule for all of them, instead of statements per candidate; the hits of
/// `candidates[i]` are at `[i]`, in the order `find_with` gives them. Candidates are compared
/// with the database only, not with each other (see `keys`).
pub async fn find_many(
    conn: &mut PgConnection,
    rules: &[Rule],
    candidates: &[Candidate<'_>],
    viewer: &DataScope,
) -> sqlx::Result<Vec<Vec<DupHit>>> {
    let mut out = vec![Vec::new(); candidates.len()];
    let enabled: Vec<&Rule> = rules.iter().filter(|r| r.enabled).collect();
    if enabled.is_empty() || candidates.is_empty() {
        return Ok(out);
    }
    lock_blocked(conn, rules, candidates).await?;
    let depts = if enabled.iter().any(|r| r.scope == RuleScope::Dept) {
        owner_depts(conn, candidates).await?
    } else {
        Default::default()
    };
    let dept_of = |c: &Candidate<'_>| c.owner_id.and_then(|o| depts.get(&o).copied()).unwrap_or(viewer.dept_id);
    for rule in enabled {
        let (mut at, mut values, mut dept_ids, mut excluded) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, c) in candidates.iter().enumerate() {
            if let Some(p) = probes(c).into_iter().find(|p| p.field == rule.field) {
                at.push(i as i32);
                values.push(p.value);
                dept_ids.push(dept_of(c));
                excluded.push(c.exclude_id.unwrap_or(0));
            }
        }
        if !at.is_empty() {
            let rows = search_many(conn, rule, (at, values, dept_ids, excluded), viewer).await?;
            for (i, r) in rows {
                out[i as usize].extend(hit(rules, r));
            }
        }
    }
    Ok(out)
}

/// One rule's probes for many candidates: (candidate index, value, department compared within,
/// record to leave out) → (candidate index, hit), each candidate's hits by id.
async fn search_many(
    conn: &mut PgConnection,
    rule: &Rule,
    (at, values, depts, excluded): (Vec<i32>, Vec<String>, Vec<i64>, Vec<i64>),
    viewer: &DataScope,
) -> sqlx::Result<Vec<(i32, HitRow)>> {
    let def = rule.kind.def;
    let probe = Probe { field: rule.field, value: String::new() };
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("SELECT p.i, ");
    qb.push_bind(rule.field).push("::text AS field, h.id, h.name, h.owner_name, h.visible, h.same_dept FROM unnest(");
    qb.push_bind(at).push("::int[], ").push_bind(values).push("::text[], ");
    qb.push_bind(depts).push("::bigint[], ").push_bind(excluded);
    qb.push(format_args!(
        "::bigint[]) AS p(i, v, dept, x) CROSS JOIN LATERAL (SELECT t.id, {} AS name, u.name AS owner_name, coalesce(",
        def.title
    ));
    if def.parent.is_some() {
        push_visible(&mut qb, def, viewer);
    } else {
        viewer.push_visible(&mut qb, "t", def.entity);
    }
    qb.push(format_args!(
        ", false) AS visible, coalesce(u.dept_id = p.dept, false) AS same_dept
           FROM {} t LEFT JOIN users u ON u.id = t.owner_id WHERE",
        def.table
    ));
    push_bin(&mut qb, def, Bin::Live);
    qb.push(" AND t.id <> p.x AND ").push(probe.column()).push("p.v");
    if rule.scope == RuleScope::Dept {
        qb.push(" AND u.dept_id = p.dept");
    }
    qb.push(" ORDER BY t.id LIMIT ").push_bind(HITS_PER_FIELD).push(") h ORDER BY p.i, h.id");
    let rows = qb.build().fetch_all(conn).await?;
    rows.iter().map(|row| Ok((sqlx::Row::try_get(row, "i")?, <HitRow as sqlx::FromRow<_>>::from_row(row)?))).collect()
}

/// The departments of the candidates' owners (dept-scoped rules compare within them).
async fn owner_depts(
    conn: &mut PgConnection,
    candidates: &[Candidate<'_>],
) -> sqlx::Result<std::collections::HashMap<i64, i64>> {
    let owners: Vec<i64> = candidates.iter().filter_map(|c| c.owner_id).collect();
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, dept_id FROM users WHERE id = ANY($1) AND dept_id IS NOT NULL")
            .bind(owners)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// A form's duplicate check: blocking hits become field errors (next to the field, or at the
/// top of the form for a field the form does not show), warnings are returned unless the user
/// ticked `confirm_dup`. The customer, contact and lead forms share it.
pub fn sort_hits(hits: Vec<DupHit>, confirmed: bool, lang: Lang, errors: &mut crate::web::FormErrors) -> Vec<String> {
    let mut warnings = Vec::new();
    for hit in hits {
        let text = hit.message(lang);
        match hit.effect {
            Effect::Block => errors.add_text(hit.field, text),
            Effect::Warn if !confirmed => warnings.push(text),
            Effect::Warn => {}
        }
    }
    warnings
}

// ---------- the "check for duplicates" page ----------

/// Most matches the check page lists per field.
const CHECK_PER_FIELD: i64 = 20;

#[derive(Deserialize, Default)]
pub struct CheckQuery {
    #[serde(default)]
    q: String,
}

/// What the rule of a matched field would do if the user created the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Block,
    Warn,
    /// The rule is off, or (department scope) the match is in another department.
    Allowed,
}

/// One line of the check page.
pub struct CheckLine {
    pub field: &'static str,
    pub customer_id: i64,
    /// Only when the viewer may see the customer.
    pub customer_name: Option<String>,
    /// None: in the public pool.
    pub owner_name: Option<String>,
    pub verdict: Verdict,
}

impl CheckLine {
    pub fn field_key(&self) -> &'static str {
        field_label_key(self.field)
    }

    pub fn verdict_key(&self) -> &'static str {
        match self.verdict {
            Verdict::Block => "crules.check.verdict_block",
            Verdict::Warn => "crules.check.verdict_warn",
            Verdict::Allowed => "crules.check.verdict_allowed",
        }
    }

    pub fn verdict_class(&self) -> &'static str {
        match self.verdict {
            Verdict::Block => "badge badge-red",
            Verdict::Warn => "badge badge-amber",
            Verdict::Allowed => "badge",
        }
    }
}

#[derive(Template)]
#[template(path = "customers/check.html")]
struct CheckPage {
    ctx: PageCtx,
    q: String,
    searched: bool,
    lines: Vec<CheckLine>,
    blocked: bool,
    can_create: bool,
}

crate::page!(CheckPage);

impl CheckPage {
    fn found_text(&self) -> String {
        self.ctx.tf1("crules.check.found", "count", &self.lines.len().to_string())
    }
}

/// The lookup behind the check page: `q` as a name, a phone / mobile number and (with an @) an
/// e-mail address, on all four fields whatever the rules say; each match says what its rule
/// would do. The viewer is the user who will own the new customer.
pub async fn lookup(conn: &mut PgConnection, q: &str, viewer: &DataScope) -> sqlx::Result<Vec<CheckLine>> {
    let q = q.trim();
    let mut probes = Vec::new();
    let name = normalize::name(q);
    if !name.is_empty() {
        probes.push(Probe { field: "name", value: name });
    }
    let phone = normalize::phone(q);
    if phone.chars().any(|c| c.is_ascii_digit()) {
        probes.push(Probe { field: "phone", value: phone.clone() });
        probes.push(Probe { field: "mobile", value: phone });
    }
    let email = normalize::email(q);
    if email.contains('@') {
        probes.push(Probe { field: "email", value: email });
    }
    let rules = rules(&mut *conn).await?;
    let rows = search(conn, &CUSTOMERS, &probes, None, &[], viewer.dept_id, viewer, CHECK_PER_FIELD).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let rule = rules.iter().find(|x| x.field == r.field)?;
            let applies = rule.enabled && (rule.scope == RuleScope::Company || r.same_dept);
            Some(CheckLine {
                field: CUSTOMERS.static_field(&r.field)?,
                customer_id: r.id,
                customer_name: r.visible.then_some(r.name),
                owner_name: r.owner_name,
                verdict: match (applies, rule.effect) {
                    (false, _) => Verdict::Allowed,
                    (true, Effect::Block) => Verdict::Block,
                    (true, Effect::Warn) => Verdict::Warn,
                },
            })
        })
        .collect())
}

/// GET /customers/check?q=… — test a name or number before creating a customer.
pub async fn check_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(query): Query<CheckQuery>,
) -> AppResult<Response> {
    let user = req.user()?;
    let q = query.q.trim().to_string();
    let searched = !q.is_empty();
    let lines = if searched {
        let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
        let mut conn = st.db.acquire().await?;
        lookup(&mut conn, &q, &scope).await?
    } else {
        Vec::new()
    };
    let page = CheckPage {
        blocked: lines.iter().any(|l| l.verdict == Verdict::Block),
        can_create: user.can(Module::Customers, Action::Create),
        ctx,
        q,
        searched,
        lines,
    };
    Ok(render(page).await?.into_response())
}
