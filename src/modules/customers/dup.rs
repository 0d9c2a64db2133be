//! Duplicate checks for customers: the admin's rules per field (name, phone, mobile, e-mail;
//! whole company or same department; warn or block), the kernel the create / edit / import paths
//! call (`find`), and the "check for duplicates" page reps use before creating (`check_page`).
//!
//! Values are compared normalised (`super::normalize`): names trimmed, width-folded, lower-cased
//! and without spaces (`customers.name_norm`); phone numbers by their digits (`phone_norm`,
//! `mobile_norm`); e-mail addresses case-insensitively. A hit always names the owner (or the public
//! pool) but names the customer only when the viewer may see it.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::access::{Action, DataScope, Module};
use crate::error::AppResult;
use crate::records::normalize;
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, render};

/// The fields a rule can exist for, in display order.
pub const FIELDS: [&str; 4] = ["name", "phone", "mobile", "email"];

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

/// Which customers a rule compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleScope {
    /// Every live customer, the public pool included.
    Company,
    /// Customers owned by someone in the same department as the (future) owner.
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

/// One row of `customer_dup_rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// One of `FIELDS`.
    pub field: &'static str,
    pub enabled: bool,
    pub scope: RuleScope,
    pub effect: Effect,
}

impl Rule {
    /// Stable small id of the rule in the operation log: 1 name, 2 phone, 3 mobile, 4 email.
    pub fn audit_id(&self) -> i64 {
        field_index(self.field) as i64 + 1
    }
}

/// The catalog key of a field's label ("客户名称", "电话", ...).
pub fn field_label_key(field: &str) -> &'static str {
    match field {
        "name" => "crules.field.name",
        "phone" => "crules.field.phone",
        "mobile" => "crules.field.mobile",
        _ => "crules.field.email",
    }
}

fn field_index(field: &str) -> usize {
    FIELDS.iter().position(|f| *f == field).unwrap_or(FIELDS.len())
}

fn static_field(field: &str) -> Option<&'static str> {
    FIELDS.iter().copied().find(|f| *f == field)
}

/// The four rules, in `FIELDS` order (a field without a row counts as disabled).
pub async fn rules(conn: &mut PgConnection) -> sqlx::Result<Vec<Rule>> {
    let rows: Vec<(String, bool, String, String)> =
        sqlx::query_as("SELECT field, enabled, scope, effect FROM customer_dup_rules").fetch_all(conn).await?;
    Ok(FIELDS
        .iter()
        .map(|&field| {
            let row = rows.iter().find(|r| r.0 == field);
            Rule {
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
        "INSERT INTO customer_dup_rules (field, enabled, scope, effect) VALUES ($1, $2, $3, $4)
         ON CONFLICT (field) DO UPDATE SET enabled = EXCLUDED.enabled, scope = EXCLUDED.scope,
           effect = EXCLUDED.effect",
    )
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
    /// The customer being edited, which must not match itself.
    pub exclude_id: Option<i64>,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub email: Option<&'a str>,
    /// The owner the customer will have; `None` for the public pool.
    pub owner_id: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct DupHit {
    /// name | phone | mobile | email
    pub field: &'static str,
    pub effect: Effect,
    pub customer_id: i64,
    /// Only when the viewer may see that customer (scope predicate); otherwise None.
    pub customer_name: Option<String>,
    /// None when the customer is in the public pool.
    pub owner_name: Option<String>,
}

impl DupHit {
    /// The sentence for the form: e.g. "客户名称与「上海华信」重复，已被 张三 添加" or, when the
    /// viewer cannot see it, "客户名称已被 张三 添加" / "客户名称已在公海中".
    pub fn message(&self, lang: Lang) -> String {
        let field = lang.t(field_label_key(self.field));
        let key = match (&self.customer_name, &self.owner_name) {
            (Some(_), Some(_)) => "crules.dup.named_owned",
            (Some(_), None) => "crules.dup.named_pool",
            (None, Some(_)) => "crules.dup.owned",
            (None, None) => "crules.dup.pool",
        };
        lang.tf(
            key,
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
            "name" => "c.name_norm = ",
            "phone" => "c.phone_norm = ",
            "mobile" => "c.mobile_norm = ",
            _ => "lower(c.email) = ",
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
async fn search(
    conn: &mut PgConnection,
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
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("");
    for (i, p) in probes.iter().enumerate() {
        if i > 0 {
            qb.push(" UNION ALL ");
        }
        qb.push("(SELECT ").push_bind(p.field).push("::text AS field, c.id, c.name, u.name AS owner_name, coalesce(");
        // A pool customer (owner NULL) makes the owner arm NULL rather than false.
        viewer.push_visible(&mut qb, "c", "customer");
        qb.push(", false) AS visible, coalesce(u.dept_id = ")
            .push_bind(dept_id)
            .push(", false) AS same_dept FROM customers c LEFT JOIN users u ON u.id = c.owner_id")
            .push(" WHERE c.deleted_at IS NULL AND ")
            .push(p.column())
            .push_bind(p.value.clone());
        if let Some(x) = exclude_id {
            qb.push(" AND c.id <> ").push_bind(x);
        }
        if dept_only.contains(&p.field) {
            qb.push(" AND u.dept_id = ").push_bind(dept_id);
        }
        qb.push(" ORDER BY c.id LIMIT ").push_bind(per_field).push(")");
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

/// Live (not deleted) customers matching the enabled rules. Scope 'dept' compares only with
/// customers whose owner is in the same department as `candidate.owner_id` (or the viewer when
/// owner is None). `viewer` decides what is revealed.
pub async fn find(conn: &mut PgConnection, candidate: &Candidate<'_>, viewer: &DataScope) -> sqlx::Result<Vec<DupHit>> {
    let rules = rules(&mut *conn).await?;
    find_with(conn, &rules, candidate, viewer).await
}

/// `find` with the rules already read (an import reads them once per batch).
pub async fn find_with(
    conn: &mut PgConnection,
    rules: &[Rule],
    candidate: &Candidate<'_>,
    viewer: &DataScope,
) -> sqlx::Result<Vec<DupHit>> {
    let probes: Vec<Probe> =
        probes(candidate).into_iter().filter(|p| rules.iter().any(|r| r.field == p.field && r.enabled)).collect();
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let dept_only: Vec<&str> = rules.iter().filter(|r| r.scope == RuleScope::Dept).map(|r| r.field).collect();
    let dept_id =
        if dept_only.is_empty() { viewer.dept_id } else { compare_dept(conn, candidate.owner_id, viewer).await? };
    let rows = search(conn, &probes, candidate.exclude_id, &dept_only, dept_id, viewer, HITS_PER_FIELD).await?;
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
    })
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

/// `find_with` for many candidates at once (an import's chunk): one query per enabled rule for
/// all of them instead of one per candidate; the hits of `candidates[i]` are at `[i]`, in the
/// order `find_with` gives them. Candidates are compared with the database only, not with each
/// other (see `keys`).
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
        if at.is_empty() {
            continue;
        }
        let probe = Probe { field: rule.field, value: String::new() };
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("SELECT p.i, ");
        qb.push_bind(rule.field).push(
            "::text AS field, h.id, h.name, h.owner_name, h.visible, h.same_dept
               FROM unnest(",
        );
        qb.push_bind(at).push("::int[], ").push_bind(values).push("::text[], ");
        qb.push_bind(dept_ids).push("::bigint[], ").push_bind(excluded);
        qb.push(
            "::bigint[]) AS p(i, v, dept, x) CROSS JOIN LATERAL (SELECT c.id, c.name, u.name AS owner_name, coalesce(",
        );
        viewer.push_visible(&mut qb, "c", "customer");
        qb.push(", false) AS visible, coalesce(u.dept_id = p.dept, false) AS same_dept")
            .push(" FROM customers c LEFT JOIN users u ON u.id = c.owner_id WHERE c.deleted_at IS NULL AND c.id <> p.x AND ")
            .push(probe.column())
            .push("p.v");
        if rule.scope == RuleScope::Dept {
            qb.push(" AND u.dept_id = p.dept");
        }
        qb.push(" ORDER BY c.id LIMIT ").push_bind(HITS_PER_FIELD).push(") h ORDER BY p.i, h.id");
        let rows: Vec<(i32, HitRow)> = qb
            .build()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| Ok((sqlx::Row::try_get(row, "i")?, <HitRow as sqlx::FromRow<_>>::from_row(row)?)))
            .collect::<sqlx::Result<_>>()?;
        for (i, r) in rows {
            out[i as usize].extend(hit(rules, r));
        }
    }
    Ok(out)
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
    let rows = search(conn, &probes, None, &[], viewer.dept_id, viewer, CHECK_PER_FIELD).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let rule = rules.iter().find(|x| x.field == r.field)?;
            let applies = rule.enabled && (rule.scope == RuleScope::Company || r.same_dept);
            Some(CheckLine {
                field: static_field(&r.field)?,
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
