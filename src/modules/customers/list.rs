//! The customer list: filters, scenes, sorting, columns, bulk actions — on the shared list
//! mechanism (`crate::list`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::model::{Customer, DICTS, ENTITY, MODULE};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::{self, CustomFilter, FieldDef};
use crate::list::{self, BulkAction, Cell, Column, ColumnChoice, ListView, Row, Scene, Sort, SortKey, Total};
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
    pub locked: String,
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
            &self.locked,
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
            &self.locked,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

fn id_of(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}

/// The item and everything below it in a tree dictionary (a province and its cities).
fn with_descendants(dicts: &Dicts, dict: &str, id: i64) -> Vec<i64> {
    let items = dicts.items(dict);
    let mut out = vec![id];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(items.iter().filter(|it| it.parent_id == Some(parent)).map(|it| it.id));
        i += 1;
    }
    out
}

/// Local calendar day → the UTC instant it starts at.
fn day_start(d: &str, tz: FixedOffset, next_day: bool) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    let date = if next_day { date.succ_opt()? } else { date };
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0)?).single().map(|x| x.with_timezone(&Utc))
}

/// Everything that narrows the list, as ` AND ...` conditions on alias `c`.
pub struct Narrowing<'a> {
    pub filter: &'a CustomerFilter,
    pub dicts: &'a Dicts,
    pub defs: &'a [FieldDef],
    pub custom: &'a [CustomFilter],
    pub tz: FixedOffset,
}

impl Narrowing<'_> {
    pub fn push(&self, q: &mut QueryBuilder<'_, Postgres>, user: &CurrentUser) {
        let f = self.filter;
        f.scene().push(q, "c", ENTITY, user);
        repo::KEYWORD.push(q, &f.q);
        if let Some(o) = id_of(&f.owner) {
            q.push(" AND c.owner_id = ").push_bind(o);
        }
        if let Some(d) = id_of(&f.dept) {
            depts::push_user_in_subtree(q, "c.owner_id", d);
        }
        for (field, column) in [
            ("status", "c.status_id"),
            ("source", "c.source_id"),
            ("industry", "c.industry_id"),
            ("stage", "c.stage_id"),
        ] {
            let v = match field {
                "status" => &f.status,
                "source" => &f.source,
                "industry" => &f.industry,
                _ => &f.stage,
            };
            if let Some(id) = id_of(v) {
                q.push(format_args!(" AND {column} = ")).push_bind(id);
            }
        }
        for (v, dict, column) in
            [(&f.region, "region", "c.region_id"), (&f.category, "customer_category", "c.category_id")]
        {
            if let Some(id) = id_of(v) {
                q.push(format_args!(" AND {column} = ANY("))
                    .push_bind(with_descendants(self.dicts, dict, id))
                    .push(")");
            }
        }
        if let Ok(l) = f.level.trim().parse::<i16>() {
            q.push(" AND c.level = ").push_bind(l);
        }
        for (from, to, column) in [
            (&f.created_from, &f.created_to, "c.created_at"),
            (&f.updated_from, &f.updated_to, "c.updated_at"),
            (&f.followup_from, &f.followup_to, "c.last_followup_at"),
            (&f.next_from, &f.next_to, "c.next_contact_at"),
        ] {
            if let Some(at) = day_start(from, self.tz, false) {
                q.push(format_args!(" AND {column} >= ")).push_bind(at);
            }
            if let Some(at) = day_start(to, self.tz, true) {
                q.push(format_args!(" AND {column} < ")).push_bind(at);
            }
        }
        match f.locked.as_str() {
            "1" => {
                q.push(" AND c.locked");
            }
            "0" => {
                q.push(" AND NOT c.locked");
            }
            _ => {}
        }
        fields::push_filters(q, "c", self.defs, self.custom, self.tz);
    }

    /// `FROM ... WHERE` for live customers visible to `scope`, narrowed.
    pub fn push_from_where(&self, q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope, user: &CurrentUser) {
        // Only the bare table: filters never need the decorating joins (see list::fetch_page).
        // Pool customers (no owner) are listed on the pool pages, not here.
        q.push("FROM customers c WHERE c.deleted_at IS NULL AND c.owner_id IS NOT NULL AND ");
        scope.push_visible(q, "c", ENTITY);
        self.push(q, user);
    }
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
    for d in defs {
        cols.push(Column {
            key: format!("cf:{}", d.key),
            label: d.label(lang).to_string(),
            label_is_text: true,
            sort: None,
            default_visible: false,
        });
    }
    cols
}

pub fn column_label(c: &Column, lang: Lang) -> String {
    if c.label_is_text { c.label.clone() } else { lang.t(&c.label).to_string() }
}

/// The text of one cell.
fn cell(
    c: &Customer,
    key: &str,
    dicts: &Dicts,
    defs: &[FieldDef],
    ctx: &PageCtx,
    users: &HashMap<i64, String>,
) -> Cell {
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
        k => match k.strip_prefix("cf:").and_then(|key| defs.iter().find(|d| d.key == key)) {
            Some(def) => Cell::text(fields::display(def, c.custom.get(&def.key), lang, ctx.tz, users)),
            None => Cell::default(),
        },
    }
}

#[derive(Template)]
#[template(path = "customers/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: CustomerFilter,
    custom_filters: Vec<(FieldDef, CustomFilter)>,
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

impl IndexPage {
    fn custom_label(&self, d: &FieldDef) -> String {
        d.label(self.ctx.lang).to_string()
    }
    fn custom_kind(&self, d: &FieldDef) -> &'static str {
        d.kind().code()
    }
    fn custom_options(&self, d: &FieldDef) -> Vec<SelectOpt> {
        d.options.iter().map(|c| SelectOpt::new(&c.value, c.label(self.ctx.lang))).collect()
    }
}

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
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let defs = fields::defs(&st.db, ENTITY).await?;
    let custom = fields::filters_from_query(&defs, Some(&raw));
    let narrowing = Narrowing { filter: &filter, dicts: &dicts, defs: &defs, custom: &custom, tz: st.config.timezone };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("updated", true));
    let total = match (filter.is_unfiltered() && custom.is_empty(), filter.scene()) {
        (true, Scene::All) => Total::Known(list::owner_total(&st.db, ENTITY, "customers", &scope, false).await?),
        (true, Scene::Mine) => Total::Known(list::own_total(&st.db, ENTITY, user.id).await?),
        _ if !filter.q.trim().is_empty() => Total::UpTo(list::KEYWORD_COUNT_CAP),
        _ => Total::Count,
    };
    let (pager, rows): (_, Vec<Customer>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "c" },
        |q| narrowing.push_from_where(q, &scope, user),
        &sort,
        Some(&raw),
        total,
    )
    .await?;

    let choice = ColumnChoice::load(&st.db, user.id, MODULE, available_columns(&defs, ctx.lang)).await?;
    let columns = choice.columns();
    let user_names = user_names_for(&st, &defs, &rows).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let starred = crate::records::stars::starred_among(&st.db, user.id, ENTITY, &ids).await?;
    let rows = rows
        .iter()
        .map(|c| {
            let mut badges = Vec::new();
            if starred.contains(&c.id) {
                badges.push(("★".to_string(), "badge-amber"));
            }
            if c.locked {
                badges.push((ctx.t("customer.locked").to_string(), "badge-blue"));
            }
            if c.frozen {
                badges.push((ctx.t("customer.frozen").to_string(), "badge-red"));
            }
            Row {
                id: c.id,
                cells: columns.iter().map(|col| cell(c, &col.key, &dicts, &defs, &ctx, &user_names)).collect(),
                badges,
            }
        })
        .collect();
    let saved = list::scenes::saved(&st.db, user.id, MODULE).await?;
    let mut bulk = vec![
        BulkAction {
            label: ctx.t("customer.star").into(),
            action: "/customers/bulk/star".into(),
            confirm: None,
            danger: false,
        },
        BulkAction {
            label: ctx.t("customer.unstar").into(),
            action: "/customers/bulk/unstar".into(),
            confirm: None,
            danger: false,
        },
    ];
    if user.can(Module::Customers, Action::Transfer) {
        bulk.push(BulkAction {
            label: ctx.t("transfer.action").into(),
            action: "/customers/bulk/transfer".into(),
            confirm: None,
            danger: false,
        });
    }
    if user.can(Module::Customers, Action::Edit) {
        bulk.push(BulkAction {
            label: ctx.t("team.add").into(),
            action: "/customers/bulk/team".into(),
            confirm: None,
            danger: false,
        });
        bulk.push(BulkAction {
            label: ctx.t("share.add").into(),
            action: "/customers/bulk/share".into(),
            confirm: None,
            danger: false,
        });
    }
    if user.can(Module::Customers, Action::Delete) {
        bulk.push(BulkAction {
            label: ctx.t("common.delete").into(),
            action: "/customers/bulk/delete".into(),
            confirm: Some(ctx.t("customer.confirm_bulk_delete").into()),
            danger: true,
        });
    }
    let lang = ctx.lang;
    let list = ListView {
        path: "/customers".into(),
        raw_query: raw.clone(),
        scenes: list::scenes::tabs("/customers", &raw, &saved, lang),
        headers: list::headers(&columns, &raw, &sort, |c| column_label(c, lang)),
        rows,
        pager,
        bulk,
        columns_href: "/customers/columns".into(),
    };
    // A select for a small team; with many users (a large company's admin) a search box, so the
    // page does not carry thousands of options.
    let owner_options = match &scope.owners {
        Some(owners) if owners.len() <= OWNER_SELECT_MAX => users::options_for(&st.db, owners).await?,
        _ => Vec::new(),
    };
    if filter.owner_q.is_empty() {
        if let Ok(id) = filter.owner.trim().parse::<i64>() {
            let mut conn = st.db.acquire().await?;
            filter.owner_q = users::name_of(&mut conn, Some(id)).await?.unwrap_or_default();
        }
    }
    let custom_filters = defs
        .iter()
        .map(|d| {
            let f = custom
                .iter()
                .find(|f| f.key == d.key)
                .cloned()
                .unwrap_or_else(|| CustomFilter { key: d.key.clone(), ..Default::default() });
            (d.clone(), f)
        })
        .collect();
    let page = IndexPage {
        status_options: dicts.options("customer_status", lang, None),
        industry_options: dicts.options("industry", lang, None),
        region_options: dicts.options("region", lang, None),
        category_options: dicts.options("customer_category", lang, None),
        source_options: dicts.options("customer_source", lang, None),
        stage_options: dicts.options("service_stage", lang, None),
        owner_options,
        dept_options: depts::options(&st.db).await?,
        can_create: user.can(Module::Customers, Action::Create),
        custom_filters,
        ctx,
        list,
        filter,
    };
    Ok(render(page)?.into_response())
}

/// Names of the users that `user`-type custom fields on these rows point at.
pub async fn user_names_for(st: &AppState, defs: &[FieldDef], rows: &[Customer]) -> sqlx::Result<HashMap<i64, String>> {
    let keys: Vec<&str> = defs.iter().filter(|d| d.kind() == fields::Kind::User).map(|d| d.key.as_str()).collect();
    let ids: Vec<i64> =
        rows.iter().flat_map(|r| keys.iter().filter_map(|k| r.custom.get(*k).and_then(|v| v.as_i64()))).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1)").bind(&ids).fetch_all(&st.db).await?;
    Ok(rows.into_iter().collect())
}

/// Ids of the live customers the list's filter (its query string) matches within `scope`, for
/// bulk actions on "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter = CustomerFilter::parse(&st.db, raw).await?;
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let defs = fields::defs(&st.db, ENTITY).await?;
    let custom = fields::filters_from_query(&defs, Some(raw));
    let narrowing = Narrowing { filter: &filter, dicts: &dicts, defs: &defs, custom: &custom, tz: st.config.timezone };
    let mut q = QueryBuilder::new("SELECT c.id ");
    narrowing.push_from_where(&mut q, scope, user);
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
