//! The event page: when, where, who, related records, the next occurrences of a repeating
//! event; the History tab from the kernel. Participants see it read-only; others get 404.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use chrono::{DateTime, Duration, Utc};
use serde_json::Map;

use super::RECORD;
use super::model::{ENTITY, Event};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::error::{AppError, AppResult};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::records::links::{self, Link};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

const TABS: &[(&str, &str)] = &[("basic", "event.tab.basic"), ("history", "event.tab.history")];

#[derive(Template)]
#[template(path = "schedule/show.html")]
struct ShowPage {
    ctx: PageCtx,
    e: Event,
    d: Detail,
    participants: Vec<(i64, String)>,
    related: Vec<Link>,
    /// The next occurrences of a repeating event (start, end).
    next: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    can_edit: bool,
    can_delete: bool,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.d.tab_links(&self.ctx, TABS)
    }

    fn when(&self, start: &DateTime<Utc>, end: &DateTime<Utc>) -> String {
        super::calendar::span(&self.ctx, self.e.all_day, *start, *end)
    }

    fn repeat_label(&self) -> String {
        let r = self.ctx.t(self.e.repeat().label_key());
        match self.e.repeat_until {
            Some(u) => format!("{r}（{}）", self.ctx.tf1("event.repeat_until_on", "date", &u.to_string())),
            None => r.to_string(),
        }
    }

    fn remind_label(&self) -> &'static str {
        match self.e.remind_minutes {
            Some(m) => self.ctx.t(&format!("event.remind.{m}")),
            None => self.ctx.t("event.remind.none"),
        }
    }

    fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

pub async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Query(q): Query<TabQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Schedule).await?;
    let e = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    let custom = Map::new();
    let row = Row { id, owner: e.owner_id, read_only: false, custom: &custom, customer: None };
    let d = Detail::load(&st, &ctx, (user, &scope), &RECORD, row, TABS, &q).await?;
    let now = Utc::now();
    let next = if e.repeat != "none" {
        e.rule().occurrences(now, now + Duration::days(400), ctx.tz).into_iter().take(5).collect()
    } else {
        Vec::new()
    };
    let page = ShowPage {
        participants: repo::participants(&st.db, id).await?,
        related: links::of_items(&st.db, ENTITY, &[id]).await?.remove(&id).unwrap_or_default(),
        can_edit: d.may(user, &RECORD, Action::Edit),
        can_delete: d.may(user, &RECORD, Action::Delete),
        next,
        d,
        ctx,
        e,
    };
    render(page).await
}
