//! The contact list: filters, scenes, sorting, columns, bulk actions — on the shared list
//! mechanism (`crate::list`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::FixedOffset;
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use super::model::{Contact, DICTS, ENTITY, MODULE};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::{self, CustomFilter, FieldDef};
use crate::list::keyword::KeywordSql;
use crate::list::scenes::SceneTab;
use crate::list::{self, BulkAction, Cell, Column, ColumnChoice, ListView, Row, Scene, Sort, SortKey, Total};
use crate::org::users;
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

/// The customer filter: the customer's keyword (name, short name, code, phones...) on the
/// joined customer `cu`, served by the customers' own trigram and bigram indexes.
const CUSTOMER_KEYWORD: KeywordSql = KeywordSql {
    search: "cu.search",
    bigrams: "name_bigrams(cu.name || ' ' || coalesce(cu.short_name, ''))",
    names: &["cu.name", "cu.short_name"],
};

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
        [&self.q, &self.customer, &self.owner, &self.decision, &self.birth_month, &self.salutation]
            .iter()
            .all(|v| v.trim().is_empty())
    }

    /// Whether any of the "more filters" are set (keeps that panel open).
    pub fn has_more(&self) -> bool {
        [&self.owner, &self.salutation].iter().any(|v| !v.trim().is_empty())
    }
}

fn id_of(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}

/// Everything that narrows the list, as ` AND ...` conditions on aliases `ct` (contact) and
/// `cu` (its customer).
pub struct Narrowing<'a> {
    pub filter: &'a ContactFilter,
    pub defs: &'a [FieldDef],
    pub custom: &'a [CustomFilter],
    pub tz: FixedOffset,
}

impl Narrowing<'_> {
    pub fn push(&self, q: &mut QueryBuilder<'_, Postgres>, user: &CurrentUser) {
        let f = self.filter;
        match f.scene() {
            // Shared with me: the contact itself, or its customer.
            Scene::Shared => {
                q.push(" AND (ct.id = ANY(ARRAY(");
                push_shared_ids(q, ENTITY, user);
                q.push(")) OR ct.customer_id = ANY(ARRAY(");
                push_shared_ids(q, "customer", user);
                q.push(")))");
            }
            scene => scene.push(q, "ct", ENTITY, user),
        }
        repo::KEYWORD.push(q, &f.q);
        CUSTOMER_KEYWORD.push(q, &f.customer);
        if let Some(o) = id_of(&f.owner) {
            q.push(" AND ct.owner_id = ").push_bind(o);
        }
        match f.decision.as_str() {
            "1" => {
                q.push(" AND ct.decision_maker");
            }
            "0" => {
                q.push(" AND NOT ct.decision_maker");
            }
            _ => {}
        }
        if let Ok(m) = f.birth_month.trim().parse::<i32>() {
            if (1..=12).contains(&m) {
                q.push(" AND ct.birthday IS NOT NULL AND EXTRACT(MONTH FROM ct.birthday) = ").push_bind(m);
            } else {
                q.push(" AND FALSE");
            }
        }
        if let Some(s) = id_of(&f.salutation) {
            q.push(" AND ct.salutation_id = ").push_bind(s);
        }
        fields::push_filters(q, "ct", self.defs, self.custom, self.tz);
    }

    /// `FROM ... WHERE` for live contacts visible to `scope`, narrowed.
    pub fn push_from_where(&self, q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope, user: &CurrentUser) {
        q.push(repo::FROM).push(" WHERE ").push(repo::LIVE).push(" AND ");
        repo::push_visible(q, scope);
        self.push(q, user);
    }
}

/// `SELECT record_id` of `entity` records shared (unexpired) with the user or their department.
fn push_shared_ids(q: &mut QueryBuilder<'_, Postgres>, entity: &'static str, user: &CurrentUser) {
    q.push("SELECT s.record_id FROM record_shares s WHERE s.entity = ")
        .push_bind(entity)
        .push(" AND (s.user_id = ")
        .push_bind(user.id)
        .push(" OR s.dept_id = ")
        .push_bind(user.dept_id)
        .push(") AND (s.expires_at IS NULL OR s.expires_at > now())");
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

pub fn gender_label(lang: Lang, gender: Option<&str>) -> &'static str {
    match gender {
        Some("male") => lang.t("user.gender.male"),
        Some("female") => lang.t("user.gender.female"),
        _ => "",
    }
}

/// The text of one cell.
fn cell(c: &Contact, key: &str, dicts: &Dicts, defs: &[FieldDef], ctx: &PageCtx, users: &HashMap<i64, String>) -> Cell {
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
        k => match k.strip_prefix("cf:").and_then(|key| defs.iter().find(|d| d.key == key)) {
            Some(def) => Cell::text(fields::display(def, c.custom.get(&def.key), lang, ctx.tz, users)),
            None => Cell::default(),
        },
    }
}

/// The scene bar: the shared one, with the first tab saying "all contacts".
pub fn scene_tabs(raw: &str, saved: &[list::SavedScene], lang: Lang) -> Vec<SceneTab> {
    let mut tabs = list::scenes::tabs("/contacts", raw, saved, lang);
    if let Some(first) = tabs.first_mut() {
        first.label = lang.t("contact.scene_all").to_string();
    }
    tabs
}

#[derive(Template)]
#[template(path = "contacts/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: ContactFilter,
    custom_filters: Vec<(FieldDef, CustomFilter)>,
    owner_options: Vec<SelectOpt>,
    salutation_options: Vec<SelectOpt>,
    /// Keep "more filters" open (one of them is set).
    more_open: bool,
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
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let defs = fields::defs(&st.db, ENTITY).await?;
    let custom = fields::filters_from_query(&defs, Some(&raw));
    let narrowing = Narrowing { filter: &filter, defs: &defs, custom: &custom, tz: st.config.timezone };
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

    let lang = ctx.lang;
    let choice = ColumnChoice::load(&st.db, user.id, MODULE, available_columns(&defs, lang)).await?;
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
            if c.is_primary {
                badges.push((ctx.t("contact.primary").to_string(), "badge-blue"));
            }
            if c.decision_maker {
                badges.push((ctx.t("contact.decision_maker_badge").to_string(), "badge-green"));
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
            label: ctx.t("contact.star").into(),
            action: "/contacts/bulk/star".into(),
            confirm: None,
            danger: false,
        },
        BulkAction {
            label: ctx.t("contact.unstar").into(),
            action: "/contacts/bulk/unstar".into(),
            confirm: None,
            danger: false,
        },
    ];
    if user.can(Module::Contacts, Action::Transfer) {
        bulk.push(BulkAction {
            label: ctx.t("contact.transfer").into(),
            action: "/contacts/bulk/transfer".into(),
            confirm: None,
            danger: false,
        });
    }
    if user.can(Module::Contacts, Action::Delete) {
        bulk.push(BulkAction {
            label: ctx.t("common.delete").into(),
            action: "/contacts/bulk/delete".into(),
            confirm: Some(ctx.t("contact.confirm_bulk_delete").into()),
            danger: true,
        });
    }
    let list = ListView {
        path: "/contacts".into(),
        raw_query: raw.clone(),
        scenes: scene_tabs(&raw, &saved, lang),
        headers: list::headers(&columns, &raw, &sort, |c| column_label(c, lang)),
        rows,
        pager,
        bulk,
        columns_href: "/contacts/columns".into(),
    };
    let owner_options = match &scope.owners {
        None => users::options(&st.db, false).await?,
        Some(owners) => users::options(&st.db, false)
            .await?
            .into_iter()
            .filter(|o| o.value.parse().is_ok_and(|id: i64| owners.contains(&id)))
            .collect(),
    };
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
        more_open: filter.has_more() || !custom.is_empty(),
        salutation_options: dicts.options("salutation", lang, None),
        owner_options,
        can_create: user.can(Module::Contacts, Action::Create),
        custom_filters,
        ctx,
        list,
        filter,
    };
    Ok(render(page)?.into_response())
}

/// Names of the users that `user`-type custom fields on these rows point at.
pub async fn user_names_for(st: &AppState, defs: &[FieldDef], rows: &[Contact]) -> sqlx::Result<HashMap<i64, String>> {
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

/// Ids of the live contacts the list's filter (its query string) matches within `scope`, for
/// bulk actions on "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: ContactFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let defs = fields::defs(&st.db, ENTITY).await?;
    let custom = fields::filters_from_query(&defs, Some(raw));
    let narrowing = Narrowing { filter: &filter, defs: &defs, custom: &custom, tz: st.config.timezone };
    let mut q = QueryBuilder::new("SELECT ct.id ");
    narrowing.push_from_where(&mut q, scope, user);
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
