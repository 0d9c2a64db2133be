//! The board (看板): one column per stage of a stage group with the count, amount and weighted
//! amount of the open opportunities there, and cards for the most recently changed of them.
//! It reads the list's filter and scope; cards move with buttons (a plain form) or by drag and
//! drop (static/app.js submits the same form).

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::Html;
use sqlx::{Postgres, QueryBuilder};

use super::list::{FilterOptions, OpportunityFilter, footer_totals};
use super::model::{DICTS, ENTITY, Opportunity};
use super::repo;
use super::stages::{self, Stage, StageNames};
use super::totals::Sum;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::list::{self, FilterContext, Narrowing};
use crate::records::sql;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

/// Cards shown per column; the column's header counts them all.
const CARDS_PER_STAGE: i64 = 20;

pub struct Column {
    pub stage: Stage,
    pub sum: Sum,
    pub cards: Vec<Card>,
}

pub struct Card {
    pub o: Opportunity,
    /// The user may move it (owner in scope or a read-write team place).
    pub movable: bool,
}

#[derive(Template)]
#[template(path = "opportunities/board.html")]
struct BoardPage {
    ctx: PageCtx,
    filter: OpportunityFilter,
    options: FilterOptions,
    group_id: i64,
    columns: Vec<Column>,
    total: Sum,
    /// This page with its filter, to come back to after a move.
    here: String,
    query: String,
    can_edit: bool,
}

crate::page!(BoardPage);

impl BoardPage {
    /// The stage before and after `i` (the card's move buttons).
    fn neighbours(&self, i: &usize) -> (Option<&Stage>, Option<&Stage>) {
        let prev = i.checked_sub(1).and_then(|p| self.columns.get(p)).map(|c| &c.stage);
        (prev, self.columns.get(i + 1).map(|c| &c.stage))
    }
}

pub async fn board(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(mut filter): Query<OpportunityFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    let scope = DataScope::resolve(&st.db, user, Module::Opportunities).await?.with_extras(&st.db, ENTITY).await?;
    let group_id = chosen_group(&st, user, &filter.group).await?;
    // The board shows open opportunities of one group, whatever the list's status filter said.
    let unfiltered =
        OpportunityFilter { group: String::new(), status: String::new(), ..filter.clone() }.is_unfiltered();
    filter.group = group_id.to_string();
    filter.status = "open".into();
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let unfiltered = unfiltered && cx.custom.is_empty();
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let core = |q: &mut QueryBuilder<'_, Postgres>| narrowing.push_from_where(q, &scope, user);
    let names = StageNames::load(&st.db).await?;
    let sums = footer_totals(&st, &scope, user, &filter, unfiltered, core).await?;
    let mut conn = st.db.acquire().await?;
    let group_stages = stages::of_group(&mut conn, group_id).await?;
    drop(conn);
    let mut columns = Vec::new();
    for stage in group_stages {
        let cards = cards(&st, &scope, stage.id, &core).await?;
        columns.push(Column { sum: sums.open_at(&names, stage.id), stage, cards });
    }
    let total = columns.iter().fold(Sum::default(), |acc, c| Sum {
        n: acc.n + c.sum.n,
        amount: acc.amount + c.sum.amount,
        weighted: acc.weighted + c.sum.weighted,
    });
    let query = list::without_paging(&raw);
    let page = BoardPage {
        options: FilterOptions::load(&st, &scope, &cx, &names, ctx.lang).await?,
        here: format!("/opportunities/board?{query}"),
        can_edit: user.can(Module::Opportunities, Action::Edit),
        query,
        group_id,
        columns,
        total,
        filter,
        ctx,
    };
    render(page).await
}

/// The group asked for, else the user's own department's.
pub async fn chosen_group(st: &AppState, user: &CurrentUser, asked: &str) -> AppResult<i64> {
    let groups = stages::groups(&st.db).await?;
    if let Some(g) = asked.trim().parse::<i64>().ok().filter(|g| groups.iter().any(|x| x.id == *g)) {
        return Ok(g);
    }
    let mut conn = st.db.acquire().await?;
    Ok(stages::group_for_owner(&mut conn, user.id).await?)
}

/// The most recently changed open opportunities at `stage` that the filter matches.
async fn cards(
    st: &AppState,
    scope: &DataScope,
    stage: i64,
    core: &impl Fn(&mut QueryBuilder<'_, Postgres>),
) -> AppResult<Vec<Card>> {
    let mut q = QueryBuilder::new("SELECT o.id ");
    core(&mut q);
    q.push(" AND o.stage_id = ").push_bind(stage);
    q.push(" ORDER BY o.updated_at DESC, o.id DESC LIMIT ").push_bind(CARDS_PER_STAGE);
    let ids: Vec<i64> = q.build_query_scalar().fetch_all(&st.db).await?;
    let found = repo::rows_for(&st.db, &ids).await?;
    let movable = sql::writable_ids(&st.db, &super::RECORD, scope, &ids, sql::Bin::Live).await?;
    Ok(found.into_iter().map(|o| Card { movable: movable.contains(&o.id), o }).collect())
}
