//! Related records (相关记录) of daily work: a task, a schedule entry or a work log may name
//! records of any registered kind with a timeline (customers, contacts, leads, opportunities,
//! contracts...), kept in `work_links (kind, item_id, entity, entity_id)`. The record's
//! timeline shows the items related to it (each module's `timeline::Source`).
//!
//! Forms offer one picker per kind the user may view (`Picker`, macro `related` in
//! `templates/partials/related.html`): the chosen records as checkboxes (`rel` = "customer:12")
//! and a text box with suggestions (`GET {path}/pick?q=`, added to every linkable kind by
//! `records::routes`). `parse` keeps only records the user sees.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool, QueryBuilder};

use super::def::{Record, RecordDef};
use super::sql::{self, Bin};
use crate::access::{Action, DataScope};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{FormData, RequestCtx};

/// A related record as forms and pages show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub entity: &'static str,
    pub id: i64,
    pub name: String,
}

impl Link {
    pub fn url(&self) -> String {
        format!("{}/{}", def_of(self.entity).map_or("", |d| d.path), self.id)
    }

    /// "entity.customer"
    pub fn label_key(&self) -> String {
        format!("entity.{}", self.entity)
    }

    /// The form value: "customer:12".
    pub fn value(&self) -> String {
        format!("{}:{}", self.entity, self.id)
    }
}

fn def_of(entity: &str) -> Option<&'static RecordDef> {
    linkable().find(|d| d.entity == entity)
}

/// The kinds an item may be related to: registered kinds with a timeline.
pub fn linkable() -> impl Iterator<Item = &'static RecordDef> {
    crate::registry::get().records().filter(|d| d.features.timeline)
}

/// "customer:12" → (customer, 12), for a linkable kind.
pub fn parse_value(v: &str) -> Option<(&'static str, i64)> {
    let (entity, id) = v.split_once(':')?;
    Some((def_of(entity)?.entity, id.trim().parse().ok()?))
}

/// The related records of these items, by item, in the registry's order of kinds then name.
pub async fn of_items(db: &PgPool, kind: &str, item_ids: &[i64]) -> sqlx::Result<HashMap<i64, Vec<Link>>> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT item_id, entity, entity_id FROM work_links WHERE kind = $1 AND item_id = ANY($2) ORDER BY item_id, entity_id",
    )
    .bind(kind)
    .bind(item_ids)
    .fetch_all(db)
    .await?;
    let names = names(db, rows.iter().map(|(_, e, id)| (e.as_str(), *id))).await?;
    let mut out: HashMap<i64, Vec<Link>> = HashMap::new();
    for def in linkable() {
        for (item, _, id) in rows.iter().filter(|r| r.1 == def.entity) {
            if let Some(name) = names.get(&(def.entity, *id)) {
                out.entry(*item).or_default().push(Link { entity: def.entity, id: *id, name: name.clone() });
            }
        }
    }
    Ok(out)
}

/// The names of live records, by (entity, id); records in the recycle bin are left out.
async fn names<'a>(
    db: &PgPool,
    refs: impl Iterator<Item = (&'a str, i64)>,
) -> sqlx::Result<HashMap<(&'static str, i64), String>> {
    let mut by_kind: HashMap<&'static str, Vec<i64>> = HashMap::new();
    for (entity, id) in refs {
        if let Some(def) = def_of(entity) {
            by_kind.entry(def.entity).or_default().push(id);
        }
    }
    let mut out = HashMap::new();
    for (entity, ids) in by_kind {
        let def = def_of(entity).expect("kind is linkable");
        let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT t.id, {} FROM {} t WHERE t.id = ANY($1) AND t.deleted_at IS NULL",
            def.title, def.table
        ))
        .bind(&ids)
        .fetch_all(db)
        .await?;
        out.extend(rows.into_iter().map(|(id, name)| ((entity, id), name)));
    }
    Ok(out)
}

/// Replace an item's related records (in the caller's transaction).
pub async fn replace(
    conn: &mut PgConnection,
    kind: &str,
    item_id: i64,
    links: &[(&'static str, i64)],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM work_links WHERE kind = $1 AND item_id = $2")
        .bind(kind)
        .bind(item_id)
        .execute(&mut *conn)
        .await?;
    if links.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::new("INSERT INTO work_links (kind, item_id, entity, entity_id) ");
    q.push_values(links, |mut b, (entity, id)| {
        b.push_bind(kind).push_bind(item_id).push_bind(*entity).push_bind(*id);
    });
    q.push(" ON CONFLICT DO NOTHING");
    q.build().execute(&mut *conn).await?;
    Ok(())
}

/// An edit form's related records: the item's stored ones the user sees. The others stay related
/// when the form is saved (`with_hidden`): the form never showed them, so they cannot be unticked.
pub async fn chosen_for(db: &PgPool, user: &CurrentUser, kind: &str, item_id: i64) -> AppResult<Vec<Link>> {
    let mut stored = of_items(db, kind, &[item_id]).await?.remove(&item_id).unwrap_or_default();
    let seen = visible_refs(db, user, &refs_of(&stored)).await?;
    stored.retain(|l| seen.contains(&(l.entity, l.id)));
    Ok(stored)
}

/// What a save stores as the item's related records: those the form chose, and the stored ones
/// the user cannot see (kept, as `chosen_for` explains). `item_id` None: a new item.
pub async fn with_hidden(
    db: &PgPool,
    user: &CurrentUser,
    kind: &str,
    item_id: Option<i64>,
    chosen: &[Link],
) -> AppResult<Vec<(&'static str, i64)>> {
    let mut refs = refs_of(chosen);
    if let Some(id) = item_id {
        let stored = refs_of(&of_items(db, kind, &[id]).await?.remove(&id).unwrap_or_default());
        let seen = visible_refs(db, user, &stored).await?;
        refs.extend(stored.into_iter().filter(|r| !seen.contains(r)));
    }
    Ok(refs)
}

fn refs_of(links: &[Link]) -> Vec<(&'static str, i64)> {
    links.iter().map(|l| (l.entity, l.id)).collect()
}

/// The items of `kind` related to a record, newest id first (for its timeline). For a customer,
/// items related to its contacts, opportunities and contracts come too: the customer's timeline
/// shows all of its work.
pub async fn items_about(db: &PgPool, kind: &str, entity: &str, id: i64, limit: i64) -> sqlx::Result<Vec<i64>> {
    let mut q = QueryBuilder::new("SELECT DISTINCT l.item_id FROM work_links l WHERE l.kind = ");
    q.push_bind(kind.to_string()).push(" AND ((l.entity = ").push_bind(entity.to_string());
    q.push(" AND l.entity_id = ").push_bind(id).push(")");
    if entity == "customer" {
        for def in linkable().filter(|d| d.entity != "customer") {
            if let Some(customer) = def.customer {
                q.push(format_args!(
                    " OR (l.entity = '{}' AND l.entity_id IN (SELECT t.id FROM {} t WHERE {customer} = ",
                    def.entity, def.table
                ));
                q.push_bind(id).push("))");
            }
        }
    }
    q.push(") ORDER BY l.item_id DESC LIMIT ").push_bind(limit);
    q.build_query_scalar().fetch_all(db).await
}

/// What a form's related-records section shows: the records chosen, and a picker for each kind
/// the user may view.
pub struct Picker {
    pub chosen: Vec<Link>,
    /// (entity, label key, suggestion URL) of each kind offered.
    pub kinds: Vec<(&'static str, String, String)>,
    /// The error shown under the section (a name that matched nothing), translated.
    pub error: Option<String>,
}

impl Picker {
    pub fn new(user: &CurrentUser, chosen: Vec<Link>) -> Picker {
        let kinds = linkable()
            .filter(|d| user.can(d.module, Action::View))
            .map(|d| (d.entity, format!("entity.{}", d.entity), format!("{}/pick", d.path)))
            .collect();
        Picker { chosen, kinds, error: None }
    }

    pub fn is_chosen(&self, value: &str) -> bool {
        self.chosen.iter().any(|l| l.value() == value)
    }
}

/// The related records a form submits — ticked `rel` values and each kind's typed or picked
/// record (`rel_<entity>_q`, `rel_<entity>_id`) — narrowed to records the user sees. `Err`: the
/// chosen records that could be read, and the field error key ("links.error.unknown") for a typed
/// name that matched nothing the user sees.
pub async fn parse(
    db: &PgPool,
    user: &CurrentUser,
    form: &FormData,
) -> AppResult<Result<Vec<Link>, (Vec<Link>, &'static str)>> {
    let mut wanted: Vec<(&'static str, i64)> = form.all("rel").iter().filter_map(|v| parse_value(v)).collect();
    let mut unknown = false;
    for def in linkable().filter(|d| user.can(d.module, Action::View)) {
        let typed = form.get(&format!("rel_{}_q", def.entity)).trim().to_string();
        if typed.is_empty() {
            continue;
        }
        let scope = DataScope::resolve(db, user, def.module).await?;
        let picked = match form.get(&format!("rel_{}_id", def.entity)).trim().parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => by_name(db, def, &scope, &typed).await?,
        };
        match picked {
            Some(id) => wanted.push((def.entity, id)),
            None => unknown = true,
        }
    }
    wanted.sort();
    wanted.dedup();
    let links = visible(db, user, &wanted).await?;
    Ok(if unknown { Err((links, "links.error.unknown")) } else { Ok(links) })
}

/// Of these records, those the user sees, with their names (kinds in registry order).
pub async fn visible(db: &PgPool, user: &CurrentUser, refs: &[(&'static str, i64)]) -> AppResult<Vec<Link>> {
    let seen = visible_refs(db, user, refs).await?;
    let names = names(db, seen.iter().copied()).await?;
    let mut out: Vec<Link> = seen
        .into_iter()
        .filter_map(|(entity, id)| names.get(&(entity, id)).map(|n| Link { entity, id, name: n.clone() }))
        .collect();
    let order = |e: &str| linkable().position(|d| d.entity == e);
    out.sort_by_key(|l| (order(l.entity), l.id));
    Ok(out)
}

/// Of these records, those the user sees (live, with the kind's view right and in its scope):
/// for lists that hold the links already and only narrow them.
pub async fn visible_refs(
    db: &PgPool,
    user: &CurrentUser,
    refs: &[(&'static str, i64)],
) -> AppResult<HashSet<(&'static str, i64)>> {
    let mut out = HashSet::new();
    for def in linkable() {
        let ids: Vec<i64> = refs.iter().filter(|(e, _)| *e == def.entity).map(|(_, id)| *id).collect();
        if ids.is_empty() || !user.can(def.module, Action::View) {
            continue;
        }
        let scope = DataScope::resolve(db, user, def.module).await?;
        out.extend(sql::visible_ids(db, def, &scope, &ids, Bin::Live).await?.into_iter().map(|id| (def.entity, id)));
    }
    Ok(out)
}

/// The first visible live record of the kind whose name is exactly `name`.
async fn by_name(db: &PgPool, def: &'static RecordDef, scope: &DataScope, name: &str) -> sqlx::Result<Option<i64>> {
    let mut q = QueryBuilder::new(format!("SELECT t.id FROM {} t WHERE {} = ", def.table, def.title));
    q.push_bind(name.to_string()).push(" AND ");
    sql::push_bin(&mut q, def, Bin::Live);
    q.push(" AND ");
    sql::push_visible(&mut q, def, scope);
    q.push(" ORDER BY t.id LIMIT 1");
    q.build_query_scalar().fetch_optional(db).await
}

#[derive(Deserialize)]
pub struct PickQuery {
    #[serde(default)]
    q: String,
}

/// GET {path}/pick?q=: up to 15 visible live records of the kind whose name contains the text,
/// as `[{id, name, code}]` for the related-records pickers (`data-lookup` in static/app.js).
pub async fn pick<R: Record>(
    State(st): State<AppState>,
    req: RequestCtx,
    Query(q): Query<PickQuery>,
) -> AppResult<Json<Value>> {
    let (user, def) = (req.user()?, R::DEF);
    let text = q.q.trim();
    if text.is_empty() {
        return Ok(Json(json!([])));
    }
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    let mut b =
        QueryBuilder::new(format!("SELECT t.id, {} FROM {} t WHERE {} ILIKE ", def.title, def.table, def.title));
    b.push_bind(format!("%{}%", crate::fields::escape_like(text))).push(" AND ");
    sql::push_bin(&mut b, def, Bin::Live);
    b.push(" AND ");
    sql::push_visible(&mut b, def, &scope);
    b.push(" ORDER BY length(").push(def.title).push("), t.id LIMIT 15");
    let rows: Vec<(i64, String)> = b.build_query_as().fetch_all(&st.db).await?;
    Ok(Json(json!(rows.into_iter().map(|(id, name)| json!({"id": id, "name": name, "code": id})).collect::<Vec<_>>())))
}
