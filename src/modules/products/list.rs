//! The product list: category (with sub-categories), shelf state and price range filters on the
//! shared list mechanism. The cost column is offered only to those who may see cost prices.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use super::RECORD;
use super::model::{DICTS, ENTITY, MODULE, Product};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::{FieldDef, FilterInput};
use crate::list::{
    self, BulkAction, Cell, Column, FilterContext, ListView, Narrowing, Narrows, RecordList, Scene, Sort, SortKey,
    Total, filters,
};
use crate::money;
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

pub const SORT_KEYS: &[SortKey] = &[
    SortKey { key: "updated", sql: "p.updated_at", nullable: false },
    SortKey { key: "created", sql: "p.created_at", nullable: false },
    SortKey { key: "name", sql: "p.name", nullable: false },
    SortKey { key: "code", sql: "p.code", nullable: false },
    SortKey { key: "price", sql: "p.price", nullable: false },
];

/// The filter form. Empty strings mean "no filter".
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct ProductFilter {
    pub q: String,
    /// A category: finds its sub-categories' products too.
    pub category: String,
    /// "on" or "off" the shelf.
    pub shelf: String,
    pub price_min: String,
    pub price_max: String,
    /// An import batch: the products it created (`import_batch_id`).
    pub batch: String,
    pub scene: String,
    pub sort: String,
    pub dir: String,
}

impl ProductFilter {
    pub fn scene(&self) -> Scene {
        Scene::from_code(&self.scene).filter(|s| s.applies_to(&RECORD)).unwrap_or(Scene::All)
    }
}

/// The product list's conditions, on alias `p`.
impl Narrows for ProductFilter {
    fn push_from_where(
        n: &Narrowing<'_, Self>,
        q: &mut QueryBuilder<'_, Postgres>,
        _scope: &DataScope,
        user: &CurrentUser,
    ) {
        let f = n.filter;
        q.push("FROM products p WHERE p.deleted_at IS NULL");
        f.scene().push(q, "p", ENTITY, user);
        repo::KEYWORD.push(q, &f.q);
        filters::push_dict_subtree(q, "p.category_id", &n.cx.dicts, "product_category", &f.category);
        match f.shelf.as_str() {
            "on" => {
                q.push(" AND p.on_shelf");
            }
            "off" => {
                q.push(" AND NOT p.on_shelf");
            }
            _ => {}
        }
        if let Ok(min) = money::amount(&f.price_min) {
            q.push(" AND p.price >= ").push_bind(min);
        }
        if let Ok(max) = money::amount(&f.price_max) {
            q.push(" AND p.price <= ").push_bind(max);
        }
        filters::push_id(q, "p.import_batch_id", &f.batch);
        n.push_custom(q, "p");
    }
}

/// Every column the list can show; custom fields come last. `cost`: the user sees cost prices.
pub fn available_columns(defs: &[FieldDef], lang: Lang, cost: bool) -> Vec<Column> {
    let mut cols = vec![
        Column::new("name", "product.name", Some("name"), true),
        Column::new("code", "product.code", Some("code"), true),
        Column::new("category", "product.category", None, true),
        Column::new("unit", "product.unit", None, true),
        Column::new("price", "product.price", Some("price"), true),
    ];
    if cost {
        cols.push(Column::new("cost_price", "product.cost_price", None, false));
    }
    cols.extend([
        Column::new("spec", "product.spec", None, true),
        Column::new("shelf", "product.shelf", None, true),
        Column::new("created_at", "product.created_at", Some("created"), false),
        Column::new("updated_at", "product.updated_at", Some("updated"), true),
    ]);
    cols.extend(Column::custom_fields(defs, lang));
    cols
}

/// One cell of a product's row (custom field columns are filled by the list kernel).
fn cell(p: &Product, key: &str, dicts: &Dicts, ctx: &PageCtx) -> Cell {
    let lang = ctx.lang;
    match key {
        "name" => Cell::link(p.name.clone(), format!("/products/{}", p.id)),
        "code" => Cell::text(p.code.clone()),
        "category" => Cell::text(dicts.path_label(p.category_id, lang)),
        "unit" => Cell::text(dicts.label(p.unit_id, lang)),
        "price" => Cell::num(ctx.money(&p.price)),
        "cost_price" => Cell::num(p.cost_price.as_ref().map(|c| ctx.money(c)).unwrap_or_default()),
        "spec" => Cell::text(p.spec.clone().unwrap_or_default()),
        "shelf" => Cell::text(lang.t(if p.on_shelf { "product.on_shelf" } else { "product.off_shelf" })),
        "created_at" => Cell::text(ctx.datetime(&p.created_at)),
        "updated_at" => Cell::text(ctx.datetime(&p.updated_at)),
        _ => Cell::default(),
    }
}

#[derive(Template)]
#[template(path = "products/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: ProductFilter,
    custom_filters: Vec<FilterInput>,
    /// A user picker for user-type custom fields: empty, so it is a search box.
    user_options: Vec<SelectOpt>,
    more_open: bool,
    category_options: Vec<SelectOpt>,
    can_create: bool,
}

crate::page!(IndexPage);

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(filter): Query<ProductFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    if let Some(to) = list::scenes::default_redirect(&st.db, user.id, MODULE, "/products", &raw).await? {
        return Ok(Redirect::to(&to).into_response());
    }
    let scope = DataScope::resolve(&st.db, user, Module::Products).await?;
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let (dicts, defs) = (&cx.dicts, &cx.defs);
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("updated", true));
    // A catalogue of a few thousand: counting is cheap.
    let (pager, rows): (_, Vec<Product>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "p" },
        |q| narrowing.push_from_where(q, &scope, user),
        &sort,
        Some(&raw),
        Total::Count,
    )
    .await?;
    let listing =
        RecordList { def: &RECORD, ctx: &ctx, user, raw: &raw, sort: &sort, defs, extra: shelf_actions(&ctx, user) };
    let available = available_columns(defs, ctx.lang, user.can(Module::Products, Action::Cost));
    let list = listing
        .view(&st.db, available, pager, &rows, |p, key, _| cell(p, key, dicts, &ctx), |p| badges(p, &ctx))
        .await?;
    let page = IndexPage {
        custom_filters: FilterInput::all(defs, &cx.custom),
        user_options: Vec::new(),
        more_open: !cx.custom.is_empty(),
        category_options: dicts.options("product_category", ctx.lang, None),
        can_create: user.can(Module::Products, Action::Create),
        ctx,
        list,
        filter,
    };
    Ok(render(page).await?.into_response())
}

fn badges(p: &Product, ctx: &PageCtx) -> Vec<(String, &'static str)> {
    if p.on_shelf { Vec::new() } else { vec![(ctx.t("product.off_shelf").to_string(), "badge-red")] }
}

/// Shelf on / off for the ticked products, for holders of the shelf permission.
fn shelf_actions(ctx: &PageCtx, user: &CurrentUser) -> Vec<BulkAction> {
    if !user.can(Module::Products, Action::Shelf) {
        return Vec::new();
    }
    [("product.shelve", "/products/bulk/shelf/on"), ("product.unshelve", "/products/bulk/shelf/off")]
        .into_iter()
        .map(|(label, action)| BulkAction {
            label: ctx.t(label).into(),
            action: action.into(),
            confirm: None,
            danger: false,
        })
        .collect()
}

/// Ids of the live products the list's filter (its query string) matches, for bulk actions on
/// "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: ProductFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let cx = FilterContext::load(st, ENTITY, DICTS, raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let mut q = QueryBuilder::new("SELECT p.id ");
    narrowing.push_from_where(&mut q, scope, user);
    q.push(" ORDER BY p.id");
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
