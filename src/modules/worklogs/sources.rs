//! What work logs put elsewhere: entries on the timelines of the records they are related to
//! (only logs the viewer may open), and the to-do centre's "logs sent to me, unread".

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::PgPool;

use super::RECORD;
use super::model::{Kind, period_label};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::records::links;
use crate::records::sql::{self, Bin};
use crate::timeline::{self, ItemKind};
use crate::todo::{self, Section};
use crate::web::i18n::Lang;

/// How many logs a record's timeline shows.
const ON_TIMELINE: i64 = 50;

pub const TIMELINE: timeline::Source = timeline::Source {
    code: "worklog",
    label_key: "worklog.timeline",
    icon: "note",
    new_form: Some(("/worklogs/new", "worklog.new.daily", Module::Worklogs)),
    load: timeline_items,
};

fn timeline_items<'a>(
    db: &'a PgPool,
    user: &'a CurrentUser,
    lang: Lang,
    entity: &'a str,
    id: i64,
) -> BoxFuture<'a, AppResult<Vec<timeline::Item>>> {
    async move {
        if !user.can(Module::Worklogs, Action::View) {
            return Ok(Vec::new());
        }
        let ids = links::items_about(db, "worklog", entity, id, ON_TIMELINE).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let scope = DataScope::resolve(db, user, Module::Worklogs).await?;
        let seen = sql::visible_ids(db, &RECORD, &scope, &ids, Bin::Live).await?;
        let rows = repo::briefs(db, &seen).await?;
        Ok(rows
            .into_iter()
            .map(|(wid, kind, start, end, done, author, at)| {
                let kind = Kind::from_code(&kind).unwrap_or(Kind::Daily);
                timeline::Item {
                    at,
                    kind: ItemKind::Linked("worklog"),
                    actor: author,
                    title: format!("{} {}", lang.t(kind.label_key()), period_label(&start, &end)),
                    lines: done.lines().take(3).map(str::to_string).collect(),
                    next_contact_at: None,
                    about: Vec::new(),
                    link: Some(format!("/worklogs/{wid}")),
                    by_me: false,
                }
            })
            .collect())
    }
    .boxed()
}

pub const TODO: todo::Source = todo::Source {
    code: "worklogs_unread",
    label_key: "worklog.todo",
    icon: "note",
    applies: |u| u.can(Module::Worklogs, Action::View),
    load: todo_section,
};

fn todo_section<'a>(
    db: &'a PgPool,
    user: &'a CurrentUser,
    cx: todo::Cx,
    limit: i64,
) -> BoxFuture<'a, AppResult<Section>> {
    async move {
        let lang = cx.lang;
        let count = repo::unread_count(db, user.id).await?;
        let ids = if count > 0 && limit > 0 { repo::unread_ids(db, user.id, limit).await? } else { Vec::new() };
        let items = repo::briefs(db, &ids)
            .await?
            .into_iter()
            .map(|(wid, kind, start, end, _, author, at)| {
                let kind = Kind::from_code(&kind).unwrap_or(Kind::Daily);
                let mut item = todo::Item::new(
                    format!("{} {}", lang.t(kind.label_key()), period_label(&start, &end)),
                    format!("/worklogs/{wid}"),
                );
                item.note = author;
                item.at = Some(at);
                item
            })
            .collect();
        Ok(Section { count, items, href: "/worklogs?tab=received&unread=1".to_string() })
    }
    .boxed()
}
