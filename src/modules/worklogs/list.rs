//! The log list (tabs: mine, sent to me — unread first —, and the team's when the user's scope
//! reaches further than themselves), and who has not submitted a log for a period.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::Html;
use chrono::NaiveDate;
use serde::Deserialize;

use super::model::{self, Kind, ListRow};
use super::repo::{self, Narrow, Tab};
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::list::filters;
use crate::org::users;
use crate::state::AppState;
use crate::web::{PageCtx, Pager, RequestCtx, SelectOpt, render};

/// The list's query. Empty strings mean "no filter".
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct Filter {
    /// "mine" (default), "received" or "team".
    pub tab: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    /// "1": only logs sent to me that I have not opened (the to-do centre's link).
    pub unread: String,
    /// The team tab's author.
    pub owner: String,
}

fn date(v: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok()
}

/// The scope reaches someone besides the user (the team tab and the missing page are offered).
pub fn sees_others(scope: &DataScope) -> bool {
    scope.owners.as_ref().is_none_or(|o| o.iter().any(|id| *id != scope.user_id))
}

impl Filter {
    fn tab(&self, team: bool) -> Tab {
        match self.tab.as_str() {
            "received" => Tab::Received,
            "team" if team => Tab::Team,
            _ => Tab::Mine,
        }
    }

    fn narrow<'a>(&self, user: &CurrentUser, scope: &'a DataScope) -> Narrow<'a> {
        let tab = self.tab(sees_others(scope));
        Narrow {
            tab,
            me: user.id,
            scope,
            kind: Kind::from_code(&self.kind),
            from: date(&self.from),
            to: date(&self.to),
            unread: tab == Tab::Received && self.unread == "1",
            owner: if tab == Tab::Team { filters::id_of(&self.owner) } else { None },
        }
    }
}

#[derive(Template)]
#[template(path = "worklogs/index.html")]
struct IndexPage {
    ctx: PageCtx,
    filter: Filter,
    tab: &'static str,
    rows: Vec<ListRow>,
    pager: Pager,
    unread: i64,
    team: bool,
    owners: Vec<SelectOpt>,
    can_create: bool,
}

crate::page!(IndexPage);

impl IndexPage {
    fn kinds(&self) -> Vec<SelectOpt> {
        Kind::ALL.iter().map(|k| SelectOpt::new(k.code(), self.ctx.t(k.label_key()))).collect()
    }

    /// The tab's link, keeping the kind and dates chosen.
    fn tab_href(&self, tab: &str) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("tab", tab);
        for (k, v) in [("kind", &self.filter.kind), ("from", &self.filter.from), ("to", &self.filter.to)] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        format!("/worklogs?{}", s.finish())
    }
}

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(filter): Query<Filter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Worklogs).await?;
    let n = filter.narrow(user, &scope);
    let total = repo::count(&st.db, &n).await?;
    let pager = Pager::from_query(raw.as_deref(), total.min(repo::COUNT_CAP)).capped(total > repo::COUNT_CAP);
    let rows = repo::page(&st.db, &n, pager.offset(), pager.limit()).await?;
    let team = sees_others(&scope);
    let owners =
        if n.tab == Tab::Team { users::scope_options(&st.db, scope.owners.as_deref()).await? } else { Vec::new() };
    let tab = match n.tab {
        Tab::Mine => "mine",
        Tab::Received => "received",
        Tab::Team => "team",
    };
    let page = IndexPage {
        unread: repo::unread_count(&st.db, user.id).await?,
        can_create: user.can(Module::Worklogs, Action::Create),
        ctx,
        filter,
        tab,
        rows,
        pager,
        team,
        owners,
    };
    render(page).await
}

/// Ids of every log the list's query matches, in its order: the kernel's "every matching row"
/// and the export.
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: Filter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let n = filter.narrow(user, scope);
    Ok(repo::ids(&st.db, &n).await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MissingQuery {
    kind: String,
    date: String,
}

#[derive(Template)]
#[template(path = "worklogs/missing.html")]
struct MissingPage {
    ctx: PageCtx,
    kind: Kind,
    date: NaiveDate,
    period: String,
    rows: Vec<(i64, String, String)>,
}

crate::page!(MissingPage);

impl MissingPage {
    fn kinds(&self) -> Vec<SelectOpt> {
        Kind::ALL.iter().map(|k| SelectOpt::new(k.code(), self.ctx.t(k.label_key()))).collect()
    }

    fn count(&self) -> String {
        self.rows.len().to_string()
    }
}

/// GET /worklogs/missing?kind=daily&date=: the people in the user's scope without a log of that
/// kind for the period holding the date (today by default).
pub async fn missing(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<MissingQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Worklogs).await?;
    let kind = Kind::from_code(&q.kind).unwrap_or(Kind::Daily);
    let date = date(&q.date).unwrap_or_else(|| model::today(st.config.timezone));
    let (start, end) = kind.period(date);
    let rows = repo::missing(&st.db, &scope, kind, start).await?;
    render(MissingPage { ctx, kind, date, period: model::period_label(&start, &end), rows }).await
}
