//! The lead list: filters, scenes, sorting, columns, bulk actions — on the shared list mechanism.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use super::RECORD;
use super::model::{DICTS, ENTITY, Lead, MODULE};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::{FieldDef, FilterInput};
use crate::list::{
    self, BulkAction, Cell, Column, FilterContext, ListView, Narrowing, Narrows, Owned, RecordList, Scene, Sort,
    SortKey, filters,
};
use crate::org::{departments as depts, users};
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

pub const SORT_KEYS: &[SortKey] = &[
    SortKey { key: "updated", sql: "l.updated_at", nullable: false },
    SortKey { key: "created", sql: "l.created_at", nullable: false },
    SortKey { key: "name", sql: "l.name", nullable: false },
    SortKey { key: "level", sql: "l.level", nullable: false },
    SortKey { key: "followup", sql: "l.last_followup_at", nullable: true },
    SortKey { key: "next_contact", sql: "l.next_contact_at", nullable: true },
];

/// The filter form. Empty strings mean "no filter".
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct LeadFilter {
    pub q: String,
    pub owner: String,
    pub dept: String,
    pub source: String,
    pub industry: String,
    pub region: String,
    pub level: String,
    /// "open" (not converted) or "converted".
    pub state: String,
    pub created_from: String,
    pub created_to: String,
    pub followup_from: String,
    pub followup_to: String,
    pub next_from: String,
    pub next_to: String,
    /// An import batch: the leads it created (`import_batch_id`).
    pub batch: String,
    pub scene: String,
    pub sort: String,
    pub dir: String,
}

impl LeadFilter {
    /// Nothing narrows the list beyond its scene: the total can come from the owner counters.
    pub fn is_unfiltered(&self) -> bool {
        [
            &self.q,
            &self.owner,
            &self.dept,
            &self.source,
            &self.industry,
            &self.region,
            &self.level,
            &self.state,
            &self.created_from,
            &self.created_to,
            &self.followup_from,
            &self.followup_to,
            &self.next_from,
            &self.next_to,
            &self.batch,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    pub fn scene(&self) -> Scene {
        Scene::from_code(&self.scene).unwrap_or(Scene::All)
    }

    pub fn has_more(&self) -> bool {
        [
            &self.owner,
            &self.dept,
            &self.created_from,
            &self.created_to,
            &self.followup_from,
            &self.followup_to,
            &self.next_from,
            &self.next_to,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

/// The lead list's conditions, on alias `l`.
impl Narrows for LeadFilter {
    fn push_from_where(
        n: &Narrowing<'_, Self>,
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &DataScope,
        user: &CurrentUser,
    ) {
        let f = n.filter;
        q.push(repo::FROM).push(" WHERE l.deleted_at IS NULL AND ");
        repo::push_visible(q, scope);
        let owned = Owned {
            alias: "l",
            entity: ENTITY,
            keyword: &repo::KEYWORD,
            scene: f.scene(),
            q: &f.q,
            owner: &f.owner,
            dept: &f.dept,
        };
        n.push_owned(q, owned, user);
        filters::push_id(q, "l.source_id", &f.source);
        filters::push_id(q, "l.industry_id", &f.industry);
        filters::push_dict_subtree(q, "l.region_id", &n.cx.dicts, "region", &f.region);
        if let Ok(l) = f.level.trim().parse::<i16>() {
            q.push(" AND l.level = ").push_bind(l);
        }
        match f.state.as_str() {
            "open" => {
                q.push(" AND l.converted_at IS NULL");
            }
            "converted" => {
                q.push(" AND l.converted_at IS NOT NULL");
            }
            _ => {}
        }
        n.push_days(q, "l.created_at", (&f.created_from, &f.created_to));
        n.push_days(q, "l.last_followup_at", (&f.followup_from, &f.followup_to));
        n.push_days(q, "l.next_contact_at", (&f.next_from, &f.next_to));
        filters::push_id(q, "l.import_batch_id", &f.batch);
        n.push_custom(q, "l");
    }
}

/// Every column the list can show; custom fields come last.
pub fn available_columns(defs: &[FieldDef], lang: Lang) -> Vec<Column> {
    let mut cols = vec![
        Column::new("name", "lead.name", Some("name"), true),
        Column::new("contact_name", "lead.contact_name", None, true),
        Column::new("phone", "lead.phone", None, true),
        Column::new("mobile", "lead.mobile", None, false),
        Column::new("email", "lead.email", None, false),
        Column::new("source", "lead.source", None, true),
        Column::new("industry", "lead.industry", None, false),
        Column::new("level", "lead.level", Some("level"), true),
        Column::new("region", "lead.region", None, false),
        Column::new("state", "lead.state", None, true),
        Column::new("owner", "lead.owner", None, true),
        Column::new("owner_dept", "lead.owner_dept", None, false),
        Column::new("last_followup", "lead.last_followup", Some("followup"), false),
        Column::new("next_contact", "lead.next_contact", Some("next_contact"), true),
        Column::new("created_at", "lead.created_at", Some("created"), false),
        Column::new("updated_at", "lead.updated_at", Some("updated"), true),
    ];
    cols.extend(Column::custom_fields(defs, lang));
    cols
}

/// One cell of a lead's row (custom field columns are filled by the list kernel).
fn cell(l: &Lead, key: &str, dicts: &Dicts, ctx: &PageCtx) -> Cell {
    let lang = ctx.lang;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match key {
        "name" => Cell::link(l.name.clone(), format!("/leads/{}", l.id)),
        "contact_name" => Cell::text(opt(&l.contact_name)),
        "phone" => Cell::text(opt(&l.phone)),
        "mobile" => Cell::text(opt(&l.mobile)),
        "email" => Cell::text(opt(&l.email)),
        "source" => Cell::text(dicts.label(l.source_id, lang)),
        "industry" => Cell::text(dicts.label(l.industry_id, lang)),
        "level" => Cell::num(format!("L{}", l.level)),
        "region" => Cell::text(dicts.path_label(l.region_id, lang)),
        "state" => match (l.is_converted(), l.customer_id) {
            (true, Some(c)) => Cell::link(lang.t("lead.state.converted"), format!("/customers/{c}")),
            (true, None) => Cell::text(lang.t("lead.state.converted")),
            _ => Cell::text(lang.t("lead.state.open")),
        },
        "owner" => Cell::text(opt(&l.owner_name)),
        "owner_dept" => Cell::text(opt(&l.owner_dept)),
        "last_followup" => Cell::text(ctx.opt_datetime(&l.last_followup_at)),
        "next_contact" => Cell::text(ctx.opt_datetime(&l.next_contact_at)),
        "created_at" => Cell::text(ctx.datetime(&l.created_at)),
        "updated_at" => Cell::text(ctx.datetime(&l.updated_at)),
        _ => Cell::default(),
    }
}

#[derive(Template)]
#[template(path = "leads/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: LeadFilter,
    custom_filters: Vec<FilterInput>,
    /// Keep "more filters" open (one of them is set).
    more_open: bool,
    source_options: Vec<SelectOpt>,
    industry_options: Vec<SelectOpt>,
    region_options: Vec<SelectOpt>,
    owner_options: Vec<SelectOpt>,
    dept_options: Vec<SelectOpt>,
    can_create: bool,
}

crate::page!(IndexPage);

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(filter): Query<LeadFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    if let Some(to) = list::scenes::default_redirect(&st.db, user.id, MODULE, "/leads", &raw).await? {
        return Ok(Redirect::to(&to).into_response());
    }
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let (dicts, defs, custom) = (&cx.dicts, &cx.defs, &cx.custom);
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("updated", true));
    let unfiltered = filter.is_unfiltered() && custom.is_empty();
    let total = list::usual_total(&st.db, &RECORD, &scope, user, (unfiltered, filter.scene(), &filter.q), true).await?;
    let (pager, rows): (_, Vec<Lead>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "l" },
        |q| narrowing.push_from_where(q, &scope, user),
        &sort,
        Some(&raw),
        total,
    )
    .await?;
    let extra = convert_action(&ctx, user).into_iter().collect();
    let listing = RecordList { def: &RECORD, ctx: &ctx, user, raw: &raw, sort: &sort, defs, extra };
    let available = available_columns(defs, ctx.lang);
    let list = listing
        .view(&st.db, available, pager, &rows, |l, key, _| cell(l, key, dicts, &ctx), |l| badges(l, &ctx))
        .await?;
    let lang = ctx.lang;
    let page = IndexPage {
        more_open: filter.has_more() || !custom.is_empty(),
        custom_filters: FilterInput::all(defs, custom),
        source_options: dicts.options("lead_source", lang, None),
        industry_options: dicts.options("industry", lang, None),
        region_options: dicts.options("region", lang, None),
        owner_options: users::scope_options(&st.db, scope.owners.as_deref()).await?,
        dept_options: depts::options(&st.db).await?,
        can_create: user.can(Module::Leads, Action::Create),
        ctx,
        list,
        filter,
    };
    Ok(render(page).await?.into_response())
}

/// "Converted" beside a converted lead's name.
fn badges(l: &Lead, ctx: &PageCtx) -> Vec<(String, &'static str)> {
    if l.is_converted() { vec![(ctx.t("lead.state.converted").to_string(), "badge-green")] } else { Vec::new() }
}

/// The bulk conversion, for those who may change leads and create customers.
fn convert_action(ctx: &PageCtx, user: &CurrentUser) -> Option<BulkAction> {
    (user.can(Module::Leads, Action::Edit) && user.can(Module::Customers, Action::Create)).then(|| BulkAction {
        label: ctx.t("lead.convert").into(),
        action: "/leads/bulk/convert".into(),
        confirm: Some(ctx.t("lead.confirm_bulk_convert").into()),
        danger: false,
    })
}

/// Ids of the live leads the list's filter (its query string) matches within `scope`, for bulk
/// actions on "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: LeadFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let cx = FilterContext::load(st, ENTITY, DICTS, raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let mut q = QueryBuilder::new("SELECT l.id ");
    narrowing.push_from_where(&mut q, scope, user);
    q.push(" ORDER BY l.id");
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
