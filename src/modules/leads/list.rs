//! The lead list: filters, scenes, sorting, columns, bulk actions — on the shared list mechanism.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use super::model::{DICTS, ENTITY, Lead, MODULE};
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

fn id_of(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}

fn day_start(d: &str, tz: FixedOffset, next_day: bool) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    let date = if next_day { date.succ_opt()? } else { date };
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0)?).single().map(|x| x.with_timezone(&Utc))
}

/// Everything that narrows the list, as ` AND ...` conditions on alias `l`.
pub struct Narrowing<'a> {
    pub filter: &'a LeadFilter,
    pub dicts: &'a Dicts,
    pub defs: &'a [FieldDef],
    pub custom: &'a [CustomFilter],
    pub tz: FixedOffset,
}

impl Narrowing<'_> {
    pub fn push(&self, q: &mut QueryBuilder<'_, Postgres>, user: &CurrentUser) {
        let f = self.filter;
        f.scene().push(q, "l", ENTITY, user);
        repo::KEYWORD.push(q, &f.q);
        if let Some(o) = id_of(&f.owner) {
            q.push(" AND l.owner_id = ").push_bind(o);
        }
        if let Some(d) = id_of(&f.dept) {
            depts::push_user_in_subtree(q, "l.owner_id", d);
        }
        if let Some(s) = id_of(&f.source) {
            q.push(" AND l.source_id = ").push_bind(s);
        }
        if let Some(i) = id_of(&f.industry) {
            q.push(" AND l.industry_id = ").push_bind(i);
        }
        if let Some(r) = id_of(&f.region) {
            let items = self.dicts.items("region");
            let mut ids = vec![r];
            let mut i = 0;
            while i < ids.len() {
                let parent = ids[i];
                ids.extend(items.iter().filter(|it| it.parent_id == Some(parent)).map(|it| it.id));
                i += 1;
            }
            q.push(" AND l.region_id = ANY(").push_bind(ids).push(")");
        }
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
        for (from, to, column) in [
            (&f.created_from, &f.created_to, "l.created_at"),
            (&f.followup_from, &f.followup_to, "l.last_followup_at"),
            (&f.next_from, &f.next_to, "l.next_contact_at"),
        ] {
            if let Some(at) = day_start(from, self.tz, false) {
                q.push(format_args!(" AND {column} >= ")).push_bind(at);
            }
            if let Some(at) = day_start(to, self.tz, true) {
                q.push(format_args!(" AND {column} < ")).push_bind(at);
            }
        }
        fields::push_filters(q, "l", self.defs, self.custom, self.tz);
    }

    /// `FROM ... WHERE` for live leads visible to `scope`, narrowed.
    pub fn push_from_where(&self, q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope, user: &CurrentUser) {
        q.push(repo::FROM).push(" WHERE l.deleted_at IS NULL AND ");
        repo::push_visible(q, scope);
        self.push(q, user);
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

fn cell(l: &Lead, key: &str, dicts: &Dicts, defs: &[FieldDef], ctx: &PageCtx, users: &HashMap<i64, String>) -> Cell {
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
        k => match k.strip_prefix("cf:").and_then(|key| defs.iter().find(|d| d.key == key)) {
            Some(def) => Cell::text(fields::display(def, l.custom.get(&def.key), lang, ctx.tz, users)),
            None => Cell::default(),
        },
    }
}

#[derive(Template)]
#[template(path = "leads/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: LeadFilter,
    source_options: Vec<SelectOpt>,
    industry_options: Vec<SelectOpt>,
    region_options: Vec<SelectOpt>,
    owner_options: Vec<SelectOpt>,
    dept_options: Vec<SelectOpt>,
    can_create: bool,
}

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
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let defs = fields::defs(&st.db, ENTITY).await?;
    let custom = fields::filters_from_query(&defs, Some(&raw));
    let narrowing = Narrowing { filter: &filter, dicts: &dicts, defs: &defs, custom: &custom, tz: st.config.timezone };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("updated", true));
    let total = match (filter.is_unfiltered() && custom.is_empty(), filter.scene()) {
        (true, Scene::All) => Total::Known(list::owner_total(&st.db, ENTITY, "leads", &scope, true).await?),
        (true, Scene::Mine) => Total::Known(list::own_total(&st.db, ENTITY, user.id).await?),
        _ if !filter.q.trim().is_empty() => Total::UpTo(list::KEYWORD_COUNT_CAP),
        _ => Total::Count,
    };
    let (pager, rows): (_, Vec<Lead>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "l" },
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
        .map(|l| {
            let mut badges = Vec::new();
            if starred.contains(&l.id) {
                badges.push(("★".to_string(), "badge-amber"));
            }
            if l.is_converted() {
                badges.push((ctx.t("lead.state.converted").to_string(), "badge-green"));
            }
            Row {
                id: l.id,
                cells: columns.iter().map(|c| cell(l, &c.key, &dicts, &defs, &ctx, &user_names)).collect(),
                badges,
            }
        })
        .collect();
    let saved = list::scenes::saved(&st.db, user.id, MODULE).await?;
    let action = |label: &str, action: &str, confirm: Option<&str>, danger: bool| BulkAction {
        label: ctx.t(label).into(),
        action: action.into(),
        confirm: confirm.map(|c| ctx.t(c).to_string()),
        danger,
    };
    let mut bulk = vec![
        action("customer.star", "/leads/bulk/star", None, false),
        action("customer.unstar", "/leads/bulk/unstar", None, false),
    ];
    if user.can(Module::Leads, Action::Edit) && user.can(Module::Customers, Action::Create) {
        bulk.push(action("lead.convert", "/leads/bulk/convert", Some("lead.confirm_bulk_convert"), false));
    }
    if user.can(Module::Leads, Action::Transfer) {
        bulk.push(action("transfer.action", "/leads/bulk/transfer", None, false));
    }
    if user.can(Module::Leads, Action::Delete) {
        bulk.push(action("common.delete", "/leads/bulk/delete", Some("lead.confirm_bulk_delete"), true));
    }
    let lang = ctx.lang;
    let mut scenes = list::scenes::tabs("/leads", &raw, &saved, lang);
    if let Some(all) = scenes.first_mut() {
        all.label = ctx.t("lead.scene_all").to_string();
    }
    let list = ListView {
        path: "/leads".into(),
        raw_query: raw.clone(),
        scenes,
        headers: list::headers(&columns, &raw, &sort, |c| column_label(c, lang)),
        rows,
        pager,
        bulk,
        columns_href: "/leads/columns".into(),
    };
    let all_users = users::options(&st.db, false).await?;
    let owner_options = match &scope.owners {
        None => all_users,
        Some(owners) => {
            all_users.into_iter().filter(|o| o.value.parse().is_ok_and(|id: i64| owners.contains(&id))).collect()
        }
    };
    let page = IndexPage {
        source_options: dicts.options("lead_source", lang, None),
        industry_options: dicts.options("industry", lang, None),
        region_options: dicts.options("region", lang, None),
        owner_options,
        dept_options: depts::options(&st.db).await?,
        can_create: user.can(Module::Leads, Action::Create),
        ctx,
        list,
        filter,
    };
    Ok(render(page)?.into_response())
}

/// Names of the users that `user`-type custom fields on these rows point at.
pub async fn user_names_for(st: &AppState, defs: &[FieldDef], rows: &[Lead]) -> sqlx::Result<HashMap<i64, String>> {
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

/// Ids of the live leads the list's filter (its query string) matches within `scope`, for bulk
/// actions on "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: LeadFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let defs = fields::defs(&st.db, ENTITY).await?;
    let custom = fields::filters_from_query(&defs, Some(raw));
    let narrowing = Narrowing { filter: &filter, dicts: &dicts, defs: &defs, custom: &custom, tz: st.config.timezone };
    let mut q = QueryBuilder::new("SELECT l.id ");
    narrowing.push_from_where(&mut q, scope, user);
    q.push(" ORDER BY l.id");
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
