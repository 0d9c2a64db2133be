//! A record kind's list page, assembled the same way for every kind: the total (from the owner
//! counters when nothing narrows the list), the user's columns, stars and badges, scene tabs,
//! sortable headers, and the bulk actions the user's permissions and the kind's features allow.
//! A module's `index` handler parses its filter, fetches its page of rows and hands them here
//! with its cells; what is left in the module is its own fields.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sqlx::PgPool;

use super::{BulkAction, Cell, Column, ColumnChoice, ListView, Row, Scene, Sort, Total};
use crate::access::{Action, DataScope};
use crate::auth::CurrentUser;
use crate::fields::{self, FieldDef};
use crate::records::RecordDef;
use crate::web::{PageCtx, Pager};

/// A row of a record list: what the shared parts need of it.
pub trait ListRow {
    fn id(&self) -> i64;
    /// Its custom field values (for `user` fields' names and `cf:` columns).
    fn custom(&self) -> &Map<String, Value>;
}

/// Names of users that `user` custom fields on a page's rows point at.
pub type UserNames = HashMap<i64, String>;

/// How a list with this filter gets its total. `unfiltered`: nothing narrows the list beyond
/// its scene, so "all" and "mine" are read from the owner counters (migration 0013);
/// `with_unowned`: the list shows records without an owner (leads do). A keyword caps the count.
pub async fn usual_total(
    db: &PgPool,
    def: &'static RecordDef,
    scope: &DataScope,
    user: &CurrentUser,
    (unfiltered, scene, keyword): (bool, Scene, &str),
    with_unowned: bool,
) -> sqlx::Result<Total> {
    Ok(match (unfiltered, scene) {
        (true, Scene::All) => Total::Known(super::owner_total(db, def.entity, def.table, scope, with_unowned).await?),
        (true, Scene::Mine) => Total::Known(super::own_total(db, def.entity, user.id).await?),
        _ if !keyword.trim().is_empty() => Total::UpTo(super::KEYWORD_COUNT_CAP),
        _ => Total::Count,
    })
}

/// One page of a record list, ready for the template.
pub struct RecordList<'a> {
    pub def: &'static RecordDef,
    pub ctx: &'a PageCtx,
    pub user: &'a CurrentUser,
    /// The list's query string.
    pub raw: &'a str,
    pub sort: &'a Sort,
    /// The kind's custom fields (for `cf:` columns and user names).
    pub defs: &'a [FieldDef],
    /// Bulk actions of the module's own (lead conversion), offered after the stars.
    pub extra: Vec<BulkAction>,
}

impl RecordList<'_> {
    /// The view of `rows`: `cell(row, column key, user names)` for the module's own columns
    /// (`cf:` columns are filled here), `badges(row)` for its marks (the star comes first).
    pub async fn view<T: ListRow>(
        self,
        db: &PgPool,
        available: Vec<Column>,
        pager: Pager,
        rows: &[T],
        cell: impl Fn(&T, &str, &UserNames) -> Cell,
        badges: impl Fn(&T) -> Vec<(String, &'static str)>,
    ) -> sqlx::Result<ListView> {
        let (def, ctx, user) = (self.def, self.ctx, self.user);
        let code = def.module.code();
        let columns = ColumnChoice::load(db, user.id, code, available).await?.columns();
        let names = fields::user_names(db, self.defs, rows.iter().map(|r| r.custom())).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id()).collect();
        let starred = crate::records::stars::starred_among(db, user.id, def.entity, &ids).await?;
        let rows = rows
            .iter()
            .map(|r| {
                let mut marks = Vec::new();
                if starred.contains(&r.id()) {
                    marks.push(("★".to_string(), "badge-amber"));
                }
                marks.extend(badges(r));
                let text = |key: &str| {
                    fields::column_text(key, self.defs, r.custom(), ctx.lang, ctx.tz, &names).map(Cell::text)
                };
                Row {
                    id: r.id(),
                    cells: columns.iter().map(|c| text(&c.key).unwrap_or_else(|| cell(r, &c.key, &names))).collect(),
                    badges: marks,
                }
            })
            .collect();
        let saved = super::scenes::saved(db, user.id, code).await?;
        let mut scenes = super::scenes::tabs(def.path, self.raw, &saved, ctx.lang, |s| s.applies_to(def));
        if let Some(all) = scenes.first_mut() {
            all.label = ctx.t(&def.msg("scene_all")).to_string();
        }
        Ok(ListView {
            path: def.path.to_string(),
            raw_query: self.raw.to_string(),
            scenes,
            headers: super::headers(&columns, self.raw, self.sort, |c| c.label(ctx.lang)),
            rows,
            pager,
            bulk: bulk_actions(def, ctx, user, self.extra),
            columns_href: format!("{}/columns", def.path),
        })
    }
}

/// The bulk actions above a record list: stars for everyone who sees it, the module's own, export,
/// then transfer, team, share and delete as the user's permissions and the kind's features allow.
fn bulk_actions(def: &'static RecordDef, ctx: &PageCtx, user: &CurrentUser, extra: Vec<BulkAction>) -> Vec<BulkAction> {
    let action = |label: &str, suffix: &str| BulkAction {
        label: ctx.t(label).into(),
        action: format!("{}/bulk/{suffix}", def.path),
        confirm: None,
        danger: false,
    };
    let may = |a| user.can(def.module, a);
    let mut bulk = vec![action("customer.star", "star"), action("customer.unstar", "unstar")];
    bulk.extend(extra);
    bulk.extend(crate::exports::bulk_action_for(def, ctx, user));
    let f = def.features;
    for (on, label, suffix) in [
        (f.transfer && may(Action::Transfer), "transfer.action", "transfer"),
        (f.team && may(Action::Edit), "team.add", "team"),
        (f.share && may(Action::Edit), "share.add", "share"),
    ] {
        if on {
            bulk.push(action(label, suffix));
        }
    }
    if may(Action::Delete) {
        let confirm = Some(ctx.t(&def.msg("confirm_bulk_delete")).to_string());
        bulk.push(BulkAction { confirm, danger: true, ..action("common.delete", "delete") });
    }
    bulk
}
