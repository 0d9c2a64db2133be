//! The contact list: filters, scenes, sorting, columns, bulk actions — on the shared list
//! mechanism (`crate::list`).

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use super::RECORD;
use super::model::{Contact, DICTS, ENTITY, MODULE};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::{FieldDef, FilterInput};
use crate::list::{
    self, Cell, Column, FilterContext, ListView, Narrowing, Narrows, RecordList, Scene, Sort, SortKey, Total, filters,
    scenes,
};
use crate::org::users;
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

pub const SORT_KEYS: &[SortKey] = &[
    SortKey { key: "updated", sql: "ct.updated_at", nullable: false },
    SortKey { key: "created", sql: "ct.created_at", nullable: false },
    SortKey { key: "name", sql: "ct.name", nullable: false },
    SortKey { key: "customer", sql: "cu.name", nullable: false },
    SortKey { key: "birthday", sql: "ct.birthday", nullable: true },
    SortKey { key: "followup", sql: "ct.last_followup_at", nullable: true },
    SortKey { key: "next_contact", sql: "ct.next_contact_at", nullable: true },
];

/// The filter form. Empty strings mean "no filter".
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct ContactFilter {
    pub q: String,
    /// Customer name or code contains.
    pub customer: String,
    pub owner: String,
    /// "1" decision makers, "0" the others.
    pub decision: String,
    /// Birthday month, 1–12.
    pub birth_month: String,
    pub salutation: String,
    /// An import batch: the contacts it created (`import_batch_id`).
    pub batch: String,
    pub scene: String,
    pub sort: String,
    pub dir: String,
}

impl ContactFilter {
    pub fn scene(&self) -> Scene {
        Scene::from_code(&self.scene).unwrap_or(Scene::All)
    }

    /// Nothing narrows the list beyond its scene: the total can be worked out from the owner
    /// counters (see `repo::unfiltered_total`).
    pub fn is_unfiltered(&self) -> bool {
        [&self.q, &self.customer, &self.owner, &self.decision, &self.birth_month, &self.salutation, &self.batch]
            .iter()
            .all(|v| v.trim().is_empty())
    }

    /// Whether any of the "more filters" are set (keeps that panel open).
    pub fn has_more(&self) -> bool {
        [&self.owner, &self.salutation].iter().any(|v| !v.trim().is_empty())
    }
}

/// The contact list's conditions, on aliases `ct` (contact) and `cu` (its customer).
impl Narrows for ContactFilter {
    fn push_from_where(
        n: &Narrowing<'_, Self>,
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &DataScope,
        user: &CurrentUser,
    ) {
        let f = n.filter;
        q.push(repo::FROM).push(" WHERE ").push(repo::LIVE).push(" AND ");
        repo::push_visible(q, scope);
        match f.scene() {
            // Shared with me: the contact itself, or its customer.
            Scene::Shared => {
                q.push(" AND (ct.id = ANY(ARRAY(");
                scenes::push_shared_ids(q, ENTITY, user);
                q.push(")) OR ct.customer_id = ANY(ARRAY(");
                scenes::push_shared_ids(q, "customer", user);
                q.push(")))");
            }
            scene => scene.push(q, "ct", ENTITY, user),
        }
        repo::KEYWORD.push(q, &f.q);
        crate::modules::customers::JOINED_KEYWORD.push(q, &f.customer);
        filters::push_id(q, "ct.owner_id", &f.owner);
        filters::push_flag(q, "ct.decision_maker", &f.decision);
        if let Ok(m) = f.birth_month.trim().parse::<i32>() {
            if (1..=12).contains(&m) {
                q.push(" AND ct.birthday IS NOT NULL AND EXTRACT(MONTH FROM ct.birthday) = ").push_bind(m);
            } else {
                q.push(" AND FALSE");
            }
        }
        filters::push_id(q, "ct.salutation_id", &f.salutation);
        filters::push_id(q, "ct.import_batch_id", &f.batch);
        n.push_custom(q, "ct");
    }
}

/// Every column the list can show; custom fields come last.
pub fn available_columns(defs: &[FieldDef], lang: Lang) -> Vec<Column> {
    let mut cols = vec![
        Column::new("name", "contact.name", Some("name"), true),
        Column::new("customer", "contact.customer", Some("customer"), true),
        Column::new("salutation", "contact.salutation", None, false),
        Column::new("gender", "contact.gender", None, false),
        Column::new("position", "contact.position", None, true),
        Column::new("department", "contact.department", None, false),
        Column::new("phone", "contact.phone", None, true),
        Column::new("mobile", "contact.mobile", None, true),
        Column::new("email", "contact.email", None, true),
        Column::new("wechat", "contact.wechat", None, false),
        Column::new("address", "contact.address", None, false),
        Column::new("birthday", "contact.birthday", Some("birthday"), false),
        Column::new("decision_maker", "contact.decision_maker", None, true),
        Column::new("owner", "contact.owner", None, true),
        Column::new("last_followup", "contact.last_followup", Some("followup"), false),
        Column::new("next_contact", "contact.next_contact", Some("next_contact"), false),
        Column::new("created_at", "contact.created_at", Some("created"), false),
        Column::new("updated_at", "contact.updated_at", Some("updated"), true),
    ];
    cols.extend(Column::custom_fields(defs, lang));
    cols
}

pub fn gender_label(lang: Lang, gender: Option<&str>) -> &'static str {
    match gender {
        Some("male") => lang.t("user.gender.male"),
        Some("female") => lang.t("user.gender.female"),
        _ => "",
    }
}

/// One cell of a contact's row (custom field columns are filled by the list kernel).
fn cell(c: &Contact, key: &str, dicts: &Dicts, ctx: &PageCtx) -> Cell {
    let lang = ctx.lang;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match key {
        "name" => Cell::link(c.name.clone(), format!("/contacts/{}", c.id)),
        "customer" => Cell::link(c.customer_name.clone(), format!("/customers/{}", c.customer_id)),
        "salutation" => Cell::text(dicts.label(c.salutation_id, lang)),
        "gender" => Cell::text(gender_label(lang, c.gender.as_deref())),
        "position" => Cell::text(opt(&c.position)),
        "department" => Cell::text(opt(&c.department)),
        "phone" => Cell::text(opt(&c.phone)),
        "mobile" => Cell::text(opt(&c.mobile)),
        "email" => Cell::text(opt(&c.email)),
        "wechat" => Cell::text(opt(&c.wechat)),
        "address" => Cell::text(opt(&c.address)),
        "birthday" => Cell::text(c.birthday.map(|d| ctx.date(&d)).unwrap_or_default()),
        "decision_maker" => Cell::text(if c.decision_maker { lang.t("common.yes") } else { "" }),
        "owner" => Cell::text(opt(&c.owner_name)),
        "last_followup" => Cell::text(ctx.opt_datetime(&c.last_followup_at)),
        "next_contact" => Cell::text(ctx.opt_datetime(&c.next_contact_at)),
        "created_at" => Cell::text(ctx.datetime(&c.created_at)),
        "updated_at" => Cell::text(ctx.datetime(&c.updated_at)),
        _ => Cell::default(),
    }
}

#[derive(Template)]
#[template(path = "contacts/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: ContactFilter,
    custom_filters: Vec<FilterInput>,
    owner_options: Vec<SelectOpt>,
    salutation_options: Vec<SelectOpt>,
    /// Keep "more filters" open (one of them is set).
    more_open: bool,
    can_create: bool,
}

crate::page!(IndexPage);

impl IndexPage {
    fn months(&self) -> Vec<SelectOpt> {
        (1..=12).map(|m| SelectOpt::new(m, self.ctx.tf1("contact.month_n", "n", &m.to_string()))).collect()
    }
}

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(filter): Query<ContactFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    if let Some(to) = list::scenes::default_redirect(&st.db, user.id, MODULE, "/contacts", &raw).await? {
        return Ok(Redirect::to(&to).into_response());
    }
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let (dicts, defs, custom) = (&cx.dicts, &cx.defs, &cx.custom);
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("updated", true));
    let total = if filter.is_unfiltered() && custom.is_empty() && filter.scene() == Scene::All {
        Total::Known(repo::unfiltered_total(&st.db, &scope).await?)
    } else if !filter.q.trim().is_empty() {
        Total::UpTo(list::KEYWORD_COUNT_CAP)
    } else {
        Total::Count
    };
    let (pager, rows): (_, Vec<Contact>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "ct" },
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
    let page = IndexPage {
        more_open: filter.has_more() || !custom.is_empty(),
        salutation_options: dicts.options("salutation", ctx.lang, None),
        owner_options: users::scope_options(&st.db, scope.owners.as_deref()).await?,
        can_create: user.can(Module::Contacts, Action::Create),
        custom_filters: FilterInput::all(defs, custom),
        ctx,
        list,
        filter,
    };
    Ok(render(page).await?.into_response())
}

/// "Primary" and "decision maker" beside the name.
fn badges(c: &Contact, ctx: &PageCtx) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if c.is_primary {
        out.push((ctx.t("contact.primary").to_string(), "badge-blue"));
    }
    if c.decision_maker {
        out.push((ctx.t("contact.decision_maker_badge").to_string(), "badge-green"));
    }
    out
}

/// Ids of the live contacts the list's filter (its query string) matches within `scope`, for
/// bulk actions on "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: ContactFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let cx = FilterContext::load(st, ENTITY, &[], raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let mut q = QueryBuilder::new("SELECT ct.id ");
    narrowing.push_from_where(&mut q, scope, user);
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
