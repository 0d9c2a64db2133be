//! What filtered opportunities add up to — count, amount and weighted amount (amount × win
//! rate), by stage and status — for the list's footer and the board's columns. An unfiltered
//! list or board sums the per-owner counters (`opportunity_sums`, kept by a trigger) over the
//! owners in scope, plus the few records reached through team places or shares; anything else
//! sums the rows its filter matches.

use std::collections::HashMap;

use rust_decimal::Decimal;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::model::{ENTITY, Status};
use super::stages::StageNames;
use crate::access::DataScope;
use crate::money;

/// (stage, status) → (count, amount).
#[derive(Default, Debug)]
pub struct ByStage(pub HashMap<(i64, String), (i64, Decimal)>);

/// Count, amount and weighted amount of a set of opportunities.
#[derive(Default, Debug, Clone, Copy)]
pub struct Sum {
    pub n: i64,
    pub amount: Decimal,
    pub weighted: Decimal,
}

impl ByStage {
    fn add(&mut self, rows: Vec<(i64, String, i64, Decimal)>) {
        for (stage, status, n, amount) in rows {
            let e = self.0.entry((stage, status)).or_default();
            e.0 += n;
            e.1 += amount;
        }
    }

    /// Everything added up; weighted exactly (each group's amount × its rate), rounded once.
    pub fn sum(&self, stages: &StageNames) -> Sum {
        self.sum_where(stages, |_, _| true)
    }

    /// The open ones at `stage`.
    pub fn open_at(&self, stages: &StageNames, stage: i64) -> Sum {
        self.sum_where(stages, |s, status| s == stage && status == "open")
    }

    fn sum_where(&self, stages: &StageNames, keep: impl Fn(i64, &str) -> bool) -> Sum {
        let mut out = Sum::default();
        let mut weighted = Decimal::ZERO;
        for ((stage, status), (n, amount)) in &self.0 {
            if !keep(*stage, status) {
                continue;
            }
            let rate =
                Status::from_code(status).unwrap_or(Status::Open).rate(stages.get(*stage).map_or(0, |s| s.win_rate));
            out.n += n;
            out.amount += amount;
            weighted += amount * Decimal::from(rate) / Decimal::ONE_HUNDRED;
        }
        out.weighted = money::cents(weighted);
        out
    }
}

/// The rows `core` (`FROM opportunities o WHERE ...`) matches, grouped.
pub async fn filtered(db: &PgPool, core: impl Fn(&mut QueryBuilder<'_, Postgres>)) -> sqlx::Result<ByStage> {
    let mut q = QueryBuilder::new("SELECT o.stage_id, o.status, count(*), coalesce(sum(o.amount), 0) ");
    core(&mut q);
    q.push(" GROUP BY 1, 2");
    let mut out = ByStage::default();
    out.add(q.build_query_as().fetch_all(db).await?);
    Ok(out)
}

/// Every live opportunity `scope` sees (`only_owner`: owned by that user), from the counters.
pub async fn unfiltered(db: &PgPool, scope: &DataScope, only_owner: Option<i64>) -> sqlx::Result<ByStage> {
    let owners: Option<Vec<i64>> = match only_owner {
        Some(me) => Some(vec![me]),
        None => scope.owners.clone(),
    };
    let mut out = ByStage::default();
    out.add(
        sqlx::query_as(
            "SELECT stage_id, status, sum(n)::bigint, sum(amount) FROM opportunity_sums
              WHERE n <> 0 AND ($1::bigint[] IS NULL OR owner_id = ANY($1)) GROUP BY 1, 2",
        )
        .bind(&owners)
        .fetch_all(db)
        .await?,
    );
    // Reached through a team place or a share, owned by someone out of scope.
    if let (Some(owners), None) = (&owners, only_owner) {
        let mut q = QueryBuilder::new(
            "SELECT o.stage_id, o.status, count(*), coalesce(sum(o.amount), 0) FROM opportunities o
              WHERE o.deleted_at IS NULL AND o.id = ANY(ARRAY(",
        );
        scope.push_extra_ids(&mut q, ENTITY);
        q.push(")) AND (o.owner_id IS NULL OR NOT o.owner_id = ANY(")
            .push_bind(owners.clone())
            .push(")) GROUP BY 1, 2");
        out.add(q.build_query_as().fetch_all(db).await?);
    }
    Ok(out)
}
