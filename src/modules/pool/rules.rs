//! Recycle rules and the two periodic jobs that apply them (`recycle`, `warn`), plus the
//! "about to enter the pool" computation the owners' page and the warnings share.
//!
//! A rule's clock for an owned customer starts at the later of (a) the last event it watches and
//! (b) `customers.owner_since` (when the current owner got the customer — claiming or being
//! assigned a customer gives the owner the full period):
//! - `no_followup`: `last_followup_at`;
//! - `no_opportunity`: `coalesce(last_opportunity_at, created_at)` — set when an opportunity is
//!   created for the customer;
//! - `no_deal`: `coalesce(dealt_at, created_at)` — the contracts module sets `dealt_at` (NULL until then).
//!
//! The customer is due `days` later. Locked, frozen and deleted customers are never recycled;
//! a rule may be limited to some levels / statuses and may exempt dealt customers
//! (`deal_status = 'dealt'`) and customers with open opportunities (`push_has_open_opportunity`).
//!
//! Which rules apply to a customer: those of the pool that governs its owner (`repo::governed`).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::repo::{self, Pool};
use crate::audit::Entry;
use crate::web::i18n::Lang;

/// Customers moved per statement; a run repeats until fewer come back.
const BATCH: i64 = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    NoFollowup,
    NoOpportunity,
    NoDeal,
}

impl RuleKind {
    pub const ALL: &'static [RuleKind] = &[RuleKind::NoFollowup, RuleKind::NoOpportunity, RuleKind::NoDeal];

    pub fn code(self) -> &'static str {
        match self {
            RuleKind::NoFollowup => "no_followup",
            RuleKind::NoOpportunity => "no_opportunity",
            RuleKind::NoDeal => "no_deal",
        }
    }

    pub fn from_code(code: &str) -> Option<RuleKind> {
        RuleKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// "无新建跟进记录" etc.
    pub fn label_key(self) -> &'static str {
        match self {
            RuleKind::NoFollowup => "pool.rule.no_followup",
            RuleKind::NoOpportunity => "pool.rule.no_opportunity",
            RuleKind::NoDeal => "pool.rule.no_deal",
        }
    }

    /// When the rule's clock starts, for alias `c` (a code constant).
    fn base_sql(self) -> &'static str {
        match self {
            RuleKind::NoFollowup => "greatest(c.last_followup_at, c.owner_since)",
            RuleKind::NoOpportunity => "greatest(coalesce(c.last_opportunity_at, c.created_at), c.owner_since)",
            RuleKind::NoDeal => "greatest(coalesce(c.dealt_at, c.created_at), c.owner_since)",
        }
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Rule {
    pub id: i64,
    pub pool_id: i64,
    pub kind: String,
    pub days: i32,
    pub levels: Vec<i16>,
    pub status_ids: Vec<i64>,
    pub exempt_dealt: bool,
    pub exempt_open_opportunities: bool,
    pub enabled: bool,
}

impl Rule {
    pub fn kind(&self) -> RuleKind {
        RuleKind::from_code(&self.kind).unwrap_or(RuleKind::NoFollowup)
    }

    /// What the customer's history and the pool list say about a customer this rule moved.
    pub fn reason(&self) -> Value {
        json!({ "kind": self.kind().code(), "days": self.days })
    }
}

pub const RULE_COLUMNS: &str =
    "id, pool_id, kind, days, levels, status_ids, exempt_dealt, exempt_open_opportunities, enabled";

pub async fn of_pool(conn: &mut PgConnection, pool_id: i64) -> sqlx::Result<Vec<Rule>> {
    sqlx::query_as(&format!("SELECT {RULE_COLUMNS} FROM pool_rules WHERE pool_id = $1 ORDER BY id"))
        .bind(pool_id)
        .fetch_all(conn)
        .await
}

/// ` <customer alias c has an open opportunity> ` (live, not yet won, lost or invalid).
pub fn push_has_open_opportunity(qb: &mut QueryBuilder<'_, Postgres>) {
    qb.push(
        " EXISTS (SELECT 1 FROM opportunities o WHERE o.customer_id = c.id AND o.status = 'open' AND o.deleted_at IS NULL) ",
    );
}

/// ` AND ...` conditions: live owned customers of `owners` that `rule` applies to.
fn push_applies(qb: &mut QueryBuilder<'_, Postgres>, rule: &Rule, owners: &[i64]) {
    qb.push(" c.deleted_at IS NULL AND c.owner_id = ANY(")
        .push_bind(owners.to_vec())
        .push(") AND NOT c.locked AND NOT c.frozen");
    if !rule.levels.is_empty() {
        qb.push(" AND c.level = ANY(").push_bind(rule.levels.clone()).push(")");
    }
    if !rule.status_ids.is_empty() {
        qb.push(" AND c.status_id = ANY(").push_bind(rule.status_ids.clone()).push(")");
    }
    if rule.exempt_dealt {
        qb.push(" AND c.deal_status <> 'dealt'");
    }
    if rule.exempt_open_opportunities {
        qb.push(" AND NOT (");
        push_has_open_opportunity(qb);
        qb.push(")");
    }
}

/// `(<when the customer is due under rule>)`.
fn push_due(qb: &mut QueryBuilder<'_, Postgres>, rule: &Rule) {
    qb.push(format_args!("({} + make_interval(days => ", rule.kind().base_sql())).push_bind(rule.days).push("))");
}

/// A customer due (or soon due) under the rules of its governing pool.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Due {
    pub customer_id: i64,
    pub name: String,
    pub owner_id: i64,
    pub due_at: DateTime<Utc>,
    pub rule_id: i64,
    pub kind: String,
    pub days: i32,
}

impl Due {
    pub fn kind(&self) -> RuleKind {
        RuleKind::from_code(&self.kind).unwrap_or(RuleKind::NoFollowup)
    }

    /// Whole days until it is due, rounded up (0 when due now).
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        let secs = (self.due_at - now).num_seconds().max(0);
        (secs + 86_399) / 86_400
    }
}

/// Customers of `owners` that the pool's enabled rules make due before `until`, each once with its
/// earliest due time, soonest first.
pub async fn due_before(
    conn: &mut PgConnection,
    rules: &[Rule],
    owners: &[i64],
    until: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Due>> {
    let rules: Vec<&Rule> = rules.iter().filter(|r| r.enabled).collect();
    if rules.is_empty() || owners.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::new("SELECT * FROM (SELECT DISTINCT ON (customer_id) * FROM (");
    for (i, rule) in rules.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push("SELECT c.id AS customer_id, c.name, c.owner_id, ");
        push_due(&mut q, rule);
        q.push(" AS due_at, ").push_bind(rule.id).push("::bigint AS rule_id, ");
        q.push_bind(rule.kind.clone()).push("::text AS kind, ").push_bind(rule.days).push("::int AS days");
        q.push(" FROM customers c WHERE ");
        push_applies(&mut q, rule, owners);
        q.push(" AND ");
        push_due(&mut q, rule);
        q.push(" < ").push_bind(until);
    }
    q.push(") arms ORDER BY customer_id, due_at) firsts ORDER BY due_at, customer_id LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(conn).await
}

/// The customers of one owner about to enter the pool (within the governing pool's reminder
/// window, at least 7 days), soonest first, with that pool.
pub async fn upcoming_for(db: &PgPool, owner_id: i64, now: DateTime<Utc>) -> sqlx::Result<(Option<Pool>, Vec<Due>)> {
    let mut conn = db.acquire().await?;
    let Some(pool) = repo::governing(&mut conn, owner_id).await? else {
        return Ok((None, Vec::new()));
    };
    let rules = of_pool(&mut conn, pool.id).await?;
    let window = i64::from(pool.remind_days_before.max(7));
    let due = due_before(&mut conn, &rules, &[owner_id], now + Duration::days(window), 500).await?;
    Ok((Some(pool), due))
}

/// A pool reason as people read it, in `lang`.
pub fn reason_text(lang: Lang, reason: &Value) -> String {
    let kind = reason.get("kind").and_then(Value::as_str).unwrap_or_default();
    let days = reason.get("days").and_then(Value::as_i64).unwrap_or_default().to_string();
    match kind {
        "put_back" => {
            let text = reason.get("text").and_then(Value::as_str).unwrap_or_default();
            lang.tf("pool.reason.put_back", &[("text", text)])
        }
        "no_followup" => lang.tf("pool.reason.no_followup", &[("days", &days)]),
        "no_opportunity" => lang.tf("pool.reason.no_opportunity", &[("days", &days)]),
        "no_deal" => lang.tf("pool.reason.no_deal", &[("days", &days)]),
        "import" => lang.t("pool.reason.import").to_string(),
        _ => String::new(),
    }
}

/// The reason in both languages, for the operation log.
pub fn reason_audit(reason: &Value) -> Value {
    json!({ "zh": reason_text(Lang::Zh, reason), "en": reason_text(Lang::En, reason) })
}

/// Move due customers into their governing pool. Safe to run from several instances at once: each
/// batch locks its rows (`FOR UPDATE SKIP LOCKED`) and re-checks them, and a recycled customer has
/// no owner, so it is never picked again. Returns how many moved.
pub async fn recycle(db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let governed = {
        let mut conn = db.acquire().await?;
        repo::governed(&mut conn).await?
    };
    let mut total = 0;
    for (pool, owners) in &governed {
        let rules = {
            let mut conn = db.acquire().await?;
            of_pool(&mut conn, pool.id).await?
        };
        for rule in rules.iter().filter(|r| r.enabled) {
            loop {
                let n = recycle_batch(db, pool, rule, owners, now).await?;
                total += n;
                if n < BATCH as u64 {
                    break;
                }
            }
        }
    }
    Ok(total)
}

async fn recycle_batch(
    db: &PgPool,
    pool: &Pool,
    rule: &Rule,
    owners: &[i64],
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let mut tx = db.begin().await?;
    let reason = rule.reason();
    let mut q = QueryBuilder::new("WITH due AS (SELECT c.id, c.owner_id FROM customers c WHERE ");
    push_applies(&mut q, rule, owners);
    q.push(" AND ");
    push_due(&mut q, rule);
    q.push(" <= ").push_bind(now);
    q.push(" ORDER BY c.id LIMIT ").push_bind(BATCH).push(" FOR UPDATE OF c SKIP LOCKED)");
    q.push(" UPDATE customers c SET owner_id = NULL, pool_id = ").push_bind(pool.id);
    q.push(", pool_entered_at = ").push_bind(now);
    q.push(", pool_reason = ").push_bind(sqlx::types::Json(reason.clone()));
    q.push(", previous_owner_id = due.owner_id FROM due WHERE c.id = due.id RETURNING c.id, c.name, due.owner_id");
    let moved: Vec<(i64, String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
    let reason_value = reason_audit(&reason);
    let notify_kind = format!("pool_recycled_{}", rule.kind().code());
    for (id, name, owner) in &moved {
        let old_name: Option<String> =
            sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(owner).fetch_optional(&mut *tx).await?;
        after_release(&mut tx, *id, *owner, pool.id, "recycle", None).await?;
        Entry::new("customer", *id, "recycle")
            .change("owner", crate::audit::opt(old_name), Value::Null)
            .change("pool", Value::Null, pool.name.clone())
            .change("pool_reason", Value::Null, reason_value.clone())
            .write(&mut tx, None, None)
            .await?;
        crate::notify::send(
            &mut tx,
            *owner,
            &notify_kind,
            json!({ "name": name, "days": rule.days }),
            Some(&format!("/customers/{id}")),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(moved.len() as u64)
}

/// What leaving an owner for a pool does besides the customer row: its contacts follow it (those
/// not transferred on their own), and the release is recorded for the reclaim cooldown.
pub async fn after_release(
    tx: &mut PgConnection,
    customer_id: i64,
    previous_owner: i64,
    pool_id: i64,
    kind: &str,
    actor: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE contacts SET owner_id = NULL WHERE customer_id = $1 AND deleted_at IS NULL AND NOT owner_locked",
    )
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO pool_releases (pool_id, customer_id, user_id, kind, actor_id) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(pool_id)
    .bind(customer_id)
    .bind(previous_owner)
    .bind(kind)
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Tell owners, once per customer and due time, that a customer will enter the pool within the
/// governing pool's `remind_days_before`. One notification per owner per run. Returns how many
/// customers were newly warned about.
pub async fn warn(db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut conn = db.acquire().await?;
    let governed = repo::governed(&mut conn).await?;
    let mut total = 0;
    for (pool, owners) in &governed {
        if pool.remind_days_before <= 0 {
            continue;
        }
        let rules = of_pool(&mut conn, pool.id).await?;
        let until = now + Duration::days(i64::from(pool.remind_days_before));
        let due = due_before(&mut conn, &rules, owners, until, 100_000).await?;
        let due: Vec<Due> = due.into_iter().filter(|d| d.due_at > now).collect();
        if due.is_empty() {
            continue;
        }
        let mut tx = db.begin().await?;
        let fresh: Vec<(i64, i64, DateTime<Utc>)> = sqlx::query_as(
            "INSERT INTO pool_warnings (customer_id, owner_id, due_at)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[])
             ON CONFLICT DO NOTHING RETURNING customer_id, owner_id, due_at",
        )
        .bind(due.iter().map(|d| d.customer_id).collect::<Vec<_>>())
        .bind(due.iter().map(|d| d.owner_id).collect::<Vec<_>>())
        .bind(due.iter().map(|d| d.due_at).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        let mut by_owner: std::collections::BTreeMap<i64, Vec<&Due>> = Default::default();
        for (cid, owner, at) in &fresh {
            if let Some(d) = due.iter().find(|d| d.customer_id == *cid && d.owner_id == *owner && d.due_at == *at) {
                by_owner.entry(*owner).or_default().push(d);
            }
        }
        for (owner, list) in by_owner {
            let first = list.iter().min_by_key(|d| d.due_at).copied().unwrap_or(list[0]);
            crate::notify::send(
                &mut tx,
                owner,
                "pool_warning",
                json!({ "n": list.len(), "name": first.name, "days": first.days_left(now) }),
                Some("/pool/upcoming"),
                None,
            )
            .await?;
        }
        total += fresh.len() as u64;
        tx.commit().await?;
    }
    Ok(total)
}
