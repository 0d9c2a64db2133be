//! The customer list: filters, scenes, sorting, columns, bulk actions — on the shared list
//! mechanism (`crate::list`).

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::RECORD;
use super::model::{Customer, DICTS, ENTITY, MODULE};
use super::repo;
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

/// Up to this many candidate owners the owner filter is a select; beyond, a search box.
const OWNER_SELECT_MAX: usize = 200;

pub const SORT_KEYS: &[SortKey] = &[
    SortKey { key: "updated", sql: "c.updated_at", nullable: false },
    SortKey { key: "created", sql: "c.created_at", nullable: false },
    SortKey { key: "name", sql: "c.name", nullable: false },
    SortKey { key: "code", sql: "c.code", nullable: false },
    SortKey { key: "level", sql: "c.level", nullable: false },
    SortKey { key: "followup", sql: "c.last_followup_at", nullable: true },
    SortKey { key: "next_contact", sql: "c.next_contact_at", nullable: true },
];

/// The filter form. Empty strings mean "no filter".
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct CustomerFilter {
    pub q: String,
    pub owner: String,
    /// The owner's name as typed when the owner filter is a search box (many users).
    pub owner_q: String,
    pub dept: String,
    pub status: String,
    pub level: String,
    pub category: String,
    pub source: String,
    pub industry: String,
    pub region: String,
    pub stage: String,
    pub created_from: String,
    pub created_to: String,
    pub updated_from: String,
    pub updated_to: String,
    pub followup_from: String,
    pub followup_to: String,
    pub next_from: String,
    pub next_to: String,
    /// "1": due for contact — the next contact time has come (by the end of today) and nobody
    /// has followed up since (the to-do centre's "follow-ups due" lists these).
    pub contact_due: String,
    pub locked: String,
    /// An import batch: the customers it created (`import_batch_id`).
    pub batch: String,
    pub scene: String,
    pub sort: String,
    pub dir: String,
}

impl CustomerFilter {
    /// Nothing narrows the list beyond its scene: the total can come from the owner counters.
    pub fn is_unfiltered(&self) -> bool {
        [
            &self.q,
            &self.owner,
            &self.dept,
            &self.status,
            &self.level,
            &self.category,
            &self.source,
            &self.industry,
            &self.region,
            &self.stage,
            &self.created_from,
            &self.created_to,
            &self.updated_from,
            &self.updated_to,
            &self.followup_from,
            &self.followup_to,
            &self.next_from,
            &self.next_to,
            &self.contact_due,
            &self.locked,
            &self.batch,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    pub fn scene(&self) -> Scene {
        Scene::from_code(&self.scene).unwrap_or(Scene::All)
    }

    /// The list's filter from a query string as the list and its bulk actions receive it,
    /// owner name resolved (see `resolve_owner`).
    pub async fn parse(db: &PgPool, raw: &str) -> sqlx::Result<CustomerFilter> {
        let mut f: CustomerFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
        f.resolve_owner(db).await?;
        Ok(f)
    }

    /// An owner typed by name (the search box shown to wide scopes) becomes the owner id the
    /// narrowing filters on; a name nobody has matches no row. The list and the bulk actions on
    /// "all matching" both go through here, so a bulk action reaches exactly the rows listed.
    pub async fn resolve_owner(&mut self, db: &PgPool) -> sqlx::Result<()> {
        if self.owner.trim().is_empty() && !self.owner_q.trim().is_empty() {
            self.owner =
                users::id_by_name(db, &self.owner_q).await?.map(|id| id.to_string()).unwrap_or_else(|| "0".into());
        }
        Ok(())
    }

    /// Whether any of the "more filters" are set (keeps that panel open).
    pub fn has_more(&self) -> bool {
        [
            &self.owner,
            &self.dept,
            &self.category,
            &self.source,
            &self.stage,
            &self.created_from,
            &self.created_to,
            &self.updated_from,
            &self.updated_to,
            &self.followup_from,
            &self.followup_to,
            &self.next_from,
            &self.next_to,
            &self.contact_due,
            &self.locked,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

/// The customer list's conditions, on alias `c`.
impl Narrows for CustomerFilter {
    fn push_from_where(
        n: &Narrowing<'_, Self>,
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &DataScope,
        user: &CurrentUser,
    ) {
        let f = n.filter;
        // Only the bare table: filters never need the decorating joins (see list::fetch_page).
        // Pool customers (no owner) are listed on the pool pages, not here.
        q.push("FROM customers c WHERE c.deleted_at IS NULL AND c.owner_id IS NOT NULL AND ");
        scope.push_visible(q, "c", ENTITY);
        let owned = Owned {
            alias: "c",
            entity: ENTITY,
            keyword: &repo::KEYWORD,
            scene: f.scene(),
            q: &f.q,
            owner: &f.owner,
            dept: &f.dept,
        };
        n.push_owned(q, owned, user);
        filters::push_id(q, "c.status_id", &f.status);
        filters::push_id(q, "c.source_id", &f.source);
        filters::push_id(q, "c.industry_id", &f.industry);
        filters::push_id(q, "c.stage_id", &f.stage);
        filters::push_dict_subtree(q, "c.region_id", &n.cx.dicts, "region", &f.region);
        filters::push_dict_subtree(q, "c.category_id", &n.cx.dicts, "customer_category", &f.category);
        if let Ok(l) = f.level.trim().parse::<i16>() {
            q.push(" AND c.level = ").push_bind(l);
        }
        n.push_days(q, "c.created_at", (&f.created_from, &f.created_to));
        n.push_days(q, "c.updated_at", (&f.updated_from, &f.updated_to));
        n.push_days(q, "c.last_followup_at", (&f.followup_from, &f.followup_to));
        n.push_days(q, "c.next_contact_at", (&f.next_from, &f.next_to));
        if f.contact_due == "1" {
            let (_, tomorrow) = crate::todo::day_bounds(chrono::Utc::now(), n.cx.tz);
            push_contact_due(q, tomorrow);
        }
        filters::push_flag(q, "c.locked", &f.locked);
        filters::push_id(q, "c.import_batch_id", &f.batch);
        n.push_custom(q, "c");
    }
}

/// ` AND c is due for contact`: its next contact time comes before `tomorrow` (the start of the
/// next local day) and nobody has followed it up since that time.
pub fn push_contact_due(q: &mut QueryBuilder<'_, Postgres>, tomorrow: chrono::DateTime<chrono::Utc>) {
    q.push(" AND c.next_contact_at < ").push_bind(tomorrow);
    q.push(" AND (c.last_followup_at IS NULL OR c.last_followup_at < c.next_contact_at)");
}

/// Every column the list can show; custom fields come last.
pub fn available_columns(defs: &[FieldDef], lang: Lang) -> Vec<Column> {
    let mut cols = vec![
        Column::new("name", "customer.name", Some("name"), true),
        Column::new("code", "customer.code", Some("code"), true),
        Column::new("short_name", "customer.short_name", None, false),
        Column::new("kind", "customer.kind", None, false),
        Column::new("status", "customer.status", None, true),
        Column::new("level", "customer.level", Some("level"), true),
        Column::new("category", "customer.category", None, false),
        Column::new("source", "customer.source", None, false),
        Column::new("industry", "customer.industry", None, true),
        Column::new("region", "customer.region", None, true),
        Column::new("stage", "customer.stage", None, false),
        Column::new("owner", "customer.owner", None, true),
        Column::new("owner_dept", "customer.owner_dept", None, false),
        Column::new("phone", "customer.phone", None, true),
        Column::new("mobile", "customer.mobile", None, false),
        Column::new("email", "customer.email", None, false),
        Column::new("last_followup", "customer.last_followup", Some("followup"), true),
        Column::new("next_contact", "customer.next_contact", Some("next_contact"), false),
        Column::new("created_at", "customer.created_at", Some("created"), false),
        Column::new("updated_at", "customer.updated_at", Some("updated"), true),
    ];
    cols.extend(Column::custom_fields(defs, lang));
    cols
}

/// One cell of a customer's row (custom field columns are filled by the list kernel).
fn cell(c: &Customer, key: &str, dicts: &Dicts, ctx: &PageCtx) -> Cell {
    let lang = ctx.lang;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match key {
        "name" => Cell::link(c.name.clone(), format!("/customers/{}", c.id)),
        "code" => Cell::text(c.code.clone()),
        "short_name" => Cell::text(opt(&c.short_name)),
        "kind" => Cell::text(lang.t(&format!("customer.kind.{}", c.kind))),
        "status" => Cell::text(dicts.label(Some(c.status_id), lang)),
        "level" => Cell::num(format!("L{}", c.level)),
        "category" => Cell::text(dicts.label(c.category_id, lang)),
        "source" => Cell::text(dicts.label(c.source_id, lang)),
        "industry" => Cell::text(dicts.label(c.industry_id, lang)),
        "region" => Cell::text(dicts.path_label(c.region_id, lang)),
        "stage" => Cell::text(dicts.label(c.stage_id, lang)),
        "owner" => Cell::text(c.owner_name.clone().unwrap_or_else(|| lang.t("customer.in_pool").to_string())),
        "owner_dept" => Cell::text(opt(&c.owner_dept)),
        "phone" => Cell::text(opt(&c.phone)),
        "mobile" => Cell::text(opt(&c.mobile)),
        "email" => Cell::text(opt(&c.email)),
        "last_followup" => Cell::text(ctx.opt_datetime(&c.last_followup_at)),
        "next_contact" => Cell::text(ctx.opt_datetime(&c.next_contact_at)),
        "created_at" => Cell::text(ctx.datetime(&c.created_at)),
        "updated_at" => Cell::text(ctx.datetime(&c.updated_at)),
        _ => Cell::default(),
    }
}

#[derive(Template)]
#[template(path = "customers/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: CustomerFilter,
    custom_filters: Vec<FilterInput>,
    /// Keep "more filters" open (one of them is set).
    more_open: bool,
    status_options: Vec<SelectOpt>,
    industry_options: Vec<SelectOpt>,
    region_options: Vec<SelectOpt>,
    category_options: Vec<SelectOpt>,
    source_options: Vec<SelectOpt>,
    stage_options: Vec<SelectOpt>,
    owner_options: Vec<SelectOpt>,
    dept_options: Vec<SelectOpt>,
    can_create: bool,
}

crate::page!(IndexPage);

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(mut filter): Query<CustomerFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    if let Some(to) = list::scenes::default_redirect(&st.db, user.id, MODULE, "/customers", &raw).await? {
        return Ok(Redirect::to(&to).into_response());
    }
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    filter.resolve_owner(&st.db).await?;
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let (dicts, defs, custom) = (&cx.dicts, &cx.defs, &cx.custom);
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("updated", true));
    let unfiltered = filter.is_unfiltered() && custom.is_empty();
    let total =
        list::usual_total(&st.db, &RECORD, &scope, user, (unfiltered, filter.scene(), &filter.q), false).await?;
    let (pager, rows): (_, Vec<Customer>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "c" },
        |q| narrowing.push_from_where(q, &scope, user),
        &sort,
        Some(&raw),
        total,
    )
    .await?;
    let listing = RecordList { def: &RECORD, ctx: &ctx, user, raw: &raw, sort: &sort, defs, extra: Vec::new() };
    let available = available_columns(defs, ctx.lang);
    let list = listing
        .view(&st.db, available, pager, &rows, |c, key, _| cell(c, key, dicts, &ctx), |c| badges(c, &ctx))
        .await?;
    let owner_options = owner_options(&st, &scope, &mut filter).await?;
    let lang = ctx.lang;
    let page = IndexPage {
        more_open: filter.has_more() || !custom.is_empty(),
        custom_filters: FilterInput::all(defs, custom),
        status_options: dicts.options("customer_status", lang, None),
        industry_options: dicts.options("industry", lang, None),
        region_options: dicts.options("region", lang, None),
        category_options: dicts.options("customer_category", lang, None),
        source_options: dicts.options("customer_source", lang, None),
        stage_options: dicts.options("service_stage", lang, None),
        owner_options,
        dept_options: depts::options(&st.db).await?,
        can_create: user.can(Module::Customers, Action::Create),
        ctx,
        list,
        filter,
    };
    Ok(render(page).await?.into_response())
}

/// "Locked" and "frozen" beside the name.
fn badges(c: &Customer, ctx: &PageCtx) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if c.locked {
        out.push((ctx.t("customer.locked").to_string(), "badge-blue"));
    }
    if c.frozen {
        out.push((ctx.t("customer.frozen").to_string(), "badge-red"));
    }
    if c.over_credit() {
        out.push((ctx.t("customer.over_credit").to_string(), "badge-red"));
    }
    out
}

/// The owner filter: a select for a small team; with many users (a large company's admin) a
/// search box, so the page does not carry thousands of options — then the chosen owner's name
/// goes back into the box.
async fn owner_options(st: &AppState, scope: &DataScope, filter: &mut CustomerFilter) -> AppResult<Vec<SelectOpt>> {
    let options = match &scope.owners {
        Some(owners) if owners.len() <= OWNER_SELECT_MAX => users::options_for(&st.db, owners).await?,
        _ => Vec::new(),
    };
    if filter.owner_q.is_empty()
        && let Ok(id) = filter.owner.trim().parse::<i64>()
    {
        filter.owner_q = users::name_of(&mut *st.db.acquire().await?, Some(id)).await?.unwrap_or_default();
    }
    Ok(options)
}

/// Ids of the live customers the list's filter (its query string) matches within `scope`, for
/// bulk actions on "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter = CustomerFilter::parse(&st.db, raw).await?;
    let cx = FilterContext::load(st, ENTITY, DICTS, raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let mut q = QueryBuilder::new("SELECT c.id ");
    narrowing.push_from_where(&mut q, scope, user);
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
