//! The opportunity list: scenes, filters (stage group, stage, status, amount, close date,
//! owner, customer, custom fields), columns, bulk actions — on the shared list mechanism — and
//! the footer with the total and weighted amount of everything the filter matches.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use super::RECORD;
use super::model::{DICTS, ENTITY, MODULE, Opportunity, Status};
use super::repo;
use super::stages::{self, StageNames};
use super::totals::{self, Sum};
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::{FieldDef, FilterInput};
use crate::list::{
    self, Cell, Column, FilterContext, ListView, Narrowing, Narrows, Owned, RecordList, Scene, Sort, SortKey, filters,
};
use crate::org::{departments as depts, users};
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

pub const SORT_KEYS: &[SortKey] = &[
    SortKey { key: "updated", sql: "o.updated_at", nullable: false },
    SortKey { key: "created", sql: "o.created_at", nullable: false },
    SortKey { key: "name", sql: "o.name", nullable: false },
    SortKey { key: "amount", sql: "o.amount", nullable: false },
    SortKey { key: "close", sql: "o.expected_close", nullable: true },
    SortKey { key: "followup", sql: "o.last_followup_at", nullable: true },
];

/// The filter form. Empty strings mean "no filter". The board reads the same form.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct OpportunityFilter {
    pub q: String,
    /// Customer name, short name or code contains.
    pub customer: String,
    /// One customer (the customer page's link).
    pub customer_id: String,
    pub owner: String,
    pub dept: String,
    pub group: String,
    pub stage: String,
    /// open / won / lost / invalid, or "closed" for the three closed ones.
    pub status: String,
    pub amount_min: String,
    pub amount_max: String,
    pub close_from: String,
    pub close_to: String,
    pub created_from: String,
    pub created_to: String,
    pub scene: String,
    pub sort: String,
    pub dir: String,
    /// The board's group and the forecast's parameters travel along (not filters here).
    pub months: String,
    pub stalled_days: String,
}

impl OpportunityFilter {
    pub fn scene(&self) -> Scene {
        Scene::from_code(&self.scene).unwrap_or(Scene::All)
    }

    /// Nothing narrows the list beyond its scene (totals may come from the counters).
    pub fn is_unfiltered(&self) -> bool {
        [
            &self.q,
            &self.customer,
            &self.customer_id,
            &self.owner,
            &self.dept,
            &self.group,
            &self.stage,
            &self.status,
            &self.amount_min,
            &self.amount_max,
            &self.close_from,
            &self.close_to,
            &self.created_from,
            &self.created_to,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    pub fn has_more(&self) -> bool {
        [&self.owner, &self.dept, &self.amount_min, &self.amount_max, &self.created_from, &self.created_to]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

/// The opportunity list's conditions, on alias `o`.
impl Narrows for OpportunityFilter {
    fn push_from_where(
        n: &Narrowing<'_, Self>,
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &DataScope,
        user: &CurrentUser,
    ) {
        let f = n.filter;
        q.push("FROM opportunities o WHERE ").push(repo::LIVE).push(" AND ");
        repo::push_visible(q, scope);
        let owned = Owned {
            alias: "o",
            entity: ENTITY,
            keyword: &repo::KEYWORD,
            scene: f.scene(),
            q: &f.q,
            owner: &f.owner,
            dept: &f.dept,
        };
        n.push_owned(q, owned, user);
        crate::modules::customers::push_named(q, "o.customer_id", &f.customer);
        filters::push_id(q, "o.customer_id", &f.customer_id);
        filters::push_id(q, "o.group_id", &f.group);
        filters::push_id(q, "o.stage_id", &f.stage);
        match f.status.as_str() {
            "closed" => {
                q.push(" AND o.status <> 'open'");
            }
            s => {
                if let Some(st) = Status::from_code(s) {
                    q.push(" AND o.status = ").push_bind(st.code());
                }
            }
        }
        filters::push_amount_range(q, "o.amount", (&f.amount_min, &f.amount_max));
        filters::push_date_range(q, "o.expected_close", (&f.close_from, &f.close_to));
        n.push_days(q, "o.created_at", (&f.created_from, &f.created_to));
        n.push_custom(q, "o");
    }
}

/// Every column the list can show; custom fields come last.
pub fn available_columns(defs: &[FieldDef], lang: Lang) -> Vec<Column> {
    let mut cols = vec![
        Column::new("name", "opportunity.name", Some("name"), true),
        Column::new("customer", "opportunity.customer", None, true),
        Column::new("amount", "opportunity.amount", Some("amount"), true),
        Column::new("stage", "opportunity.stage", None, true),
        Column::new("win_rate", "opportunity.win_rate", None, false),
        Column::new("weighted", "opportunity.weighted", None, false),
        Column::new("status", "opportunity.status", None, false),
        Column::new("expected_close", "opportunity.expected_close", Some("close"), true),
        Column::new("group", "opportunity.group", None, false),
        Column::new("source", "opportunity.source", None, false),
        Column::new("type", "opportunity.type", None, false),
        Column::new("owner", "opportunity.owner", None, true),
        Column::new("owner_dept", "opportunity.owner_dept", None, false),
        Column::new("last_followup", "opportunity.last_followup", Some("followup"), false),
        Column::new("next_contact", "opportunity.next_contact", None, false),
        Column::new("created_at", "opportunity.created_at", Some("created"), false),
        Column::new("updated_at", "opportunity.updated_at", Some("updated"), true),
    ];
    cols.extend(Column::custom_fields(defs, lang));
    cols
}

/// One cell of an opportunity's row (custom field columns are filled by the list kernel).
fn cell(o: &Opportunity, key: &str, dicts: &Dicts, stages: &StageNames, ctx: &PageCtx) -> Cell {
    let lang = ctx.lang;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match key {
        "name" => Cell::link(o.name.clone(), format!("/opportunities/{}", o.id)),
        "customer" => Cell::link(o.customer_name.clone(), format!("/customers/{}", o.customer_id)),
        "amount" => Cell::num(ctx.money(&o.amount)),
        "stage" => Cell::text(stages.name(o.stage_id, lang)),
        "win_rate" => Cell::num(format!("{}%", o.rate())),
        "weighted" => Cell::num(ctx.money(&o.weighted())),
        "status" => Cell::text(lang.t(o.status().label_key())),
        "expected_close" => Cell::text(o.expected_close.map(|d| ctx.date(&d)).unwrap_or_default()),
        "group" => Cell::text(o.group_name.clone()),
        "source" => Cell::text(dicts.label(o.source_id, lang)),
        "type" => Cell::text(dicts.label(o.type_id, lang)),
        "owner" => Cell::text(opt(&o.owner_name)),
        "owner_dept" => Cell::text(opt(&o.owner_dept)),
        "last_followup" => Cell::text(ctx.opt_datetime(&o.last_followup_at)),
        "next_contact" => Cell::text(ctx.opt_datetime(&o.next_contact_at)),
        "created_at" => Cell::text(ctx.datetime(&o.created_at)),
        "updated_at" => Cell::text(ctx.datetime(&o.updated_at)),
        _ => Cell::default(),
    }
}

/// Won, lost or invalid beside the name (the status column may be hidden).
fn badges(o: &Opportunity, ctx: &PageCtx) -> Vec<(String, &'static str)> {
    let s = o.status();
    if s == Status::Open { Vec::new() } else { vec![(ctx.t(s.label_key()).to_string(), s.badge())] }
}

/// The filter form's choices, shared with the board.
pub struct FilterOptions {
    pub groups: Vec<SelectOpt>,
    pub stages: Vec<SelectOpt>,
    pub owners: Vec<SelectOpt>,
    pub depts: Vec<SelectOpt>,
    pub custom: Vec<FilterInput>,
}

impl FilterOptions {
    pub async fn load(
        st: &AppState,
        scope: &DataScope,
        cx: &FilterContext,
        names: &StageNames,
        lang: Lang,
    ) -> AppResult<FilterOptions> {
        let groups = stages::groups(&st.db).await?;
        let several = groups.len() > 1;
        let stages = names
            .0
            .iter()
            .map(|s| {
                let group = groups.iter().find(|g| g.id == s.group_id).map(|g| g.name.as_str()).unwrap_or_default();
                let label = if several { format!("{group} · {}", s.name(lang)) } else { s.name(lang).to_string() };
                SelectOpt::new(s.id, label)
            })
            .collect();
        Ok(FilterOptions {
            groups: groups.iter().map(|g| SelectOpt::new(g.id, g.name.clone())).collect(),
            stages,
            owners: users::scope_options(&st.db, scope.owners.as_deref()).await?,
            depts: depts::options(&st.db).await?,
            custom: FilterInput::all(&cx.defs, &cx.custom),
        })
    }
}

#[derive(Template)]
#[template(path = "opportunities/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: OpportunityFilter,
    options: FilterOptions,
    footer: Sum,
    /// Keep "more filters" open (one of them is set).
    more_open: bool,
    can_create: bool,
    /// The query string for the board and the forecast (the same filter).
    query: String,
}

crate::page!(IndexPage);

impl IndexPage {
    fn statuses(&self) -> Vec<SelectOpt> {
        let mut out: Vec<SelectOpt> =
            Status::ALL.iter().map(|s| SelectOpt::new(s.code(), self.ctx.t(s.label_key()))).collect();
        out.push(SelectOpt::new("closed", self.ctx.t("opportunity.status.closed")));
        out
    }
}

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(filter): Query<OpportunityFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    if let Some(to) = list::scenes::default_redirect(&st.db, user.id, MODULE, "/opportunities", &raw).await? {
        return Ok(Redirect::to(&to).into_response());
    }
    let scope = DataScope::resolve(&st.db, user, Module::Opportunities).await?.with_extras(&st.db, ENTITY).await?;
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("updated", true));
    let unfiltered = filter.is_unfiltered() && cx.custom.is_empty();
    let total =
        list::usual_total(&st.db, &RECORD, &scope, user, (unfiltered, filter.scene(), &filter.q), false).await?;
    let core = |q: &mut QueryBuilder<'_, Postgres>| narrowing.push_from_where(q, &scope, user);
    let (pager, rows): (_, Vec<Opportunity>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "o" },
        core,
        &sort,
        Some(&raw),
        total,
    )
    .await?;
    let names = StageNames::load(&st.db).await?;
    let footer = footer_totals(&st, &scope, user, &filter, unfiltered, core).await?.sum(&names);
    let listing =
        RecordList { def: &RECORD, ctx: &ctx, user, raw: &raw, sort: &sort, defs: &cx.defs, extra: Vec::new() };
    let available = available_columns(&cx.defs, ctx.lang);
    let list = listing
        .view(&st.db, available, pager, &rows, |o, key, _| cell(o, key, &cx.dicts, &names, &ctx), |o| badges(o, &ctx))
        .await?;
    let page = IndexPage {
        more_open: filter.has_more() || !cx.custom.is_empty(),
        options: FilterOptions::load(&st, &scope, &cx, &names, ctx.lang).await?,
        can_create: user.can(Module::Opportunities, Action::Create),
        query: list::without_paging(&raw),
        footer,
        ctx,
        list,
        filter,
    };
    Ok(render(page).await?.into_response())
}

/// What the filtered opportunities add up to: from the counters for the unfiltered "all" and
/// "mine" scenes, else from the rows.
pub async fn footer_totals(
    st: &AppState,
    scope: &DataScope,
    user: &CurrentUser,
    filter: &OpportunityFilter,
    unfiltered: bool,
    core: impl Fn(&mut QueryBuilder<'_, Postgres>),
) -> AppResult<totals::ByStage> {
    Ok(match (unfiltered, filter.scene()) {
        (true, Scene::All) => totals::unfiltered(&st.db, scope, None).await?,
        (true, Scene::Mine) => totals::unfiltered(&st.db, scope, Some(user.id)).await?,
        _ => totals::filtered(&st.db, core).await?,
    })
}

/// Ids of the live opportunities the list's filter (its query string) matches within `scope`,
/// for bulk actions on "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: OpportunityFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let cx = FilterContext::load(st, ENTITY, &[], raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let mut q = QueryBuilder::new("SELECT o.id ");
    narrowing.push_from_where(&mut q, scope, user);
    q.push(" ORDER BY o.id");
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
