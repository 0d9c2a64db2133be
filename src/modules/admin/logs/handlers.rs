//! The operation log and the login log.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::Html;

use super::model::{
    Choice, LOGIN_RESULTS, LoginFilter, LoginRow, OpFilter, OpLine, action_label, catalog_codes, entity_label,
    result_label,
};
use super::repo;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{PageCtx, Pager, render};

#[derive(Template)]
#[template(path = "admin/logs/index.html")]
struct OpsPage {
    ctx: PageCtx,
    filter: OpFilter,
    actors: Vec<Choice>,
    entities: Vec<Choice>,
    actions: Vec<Choice>,
    lines: Vec<OpLine>,
    pager: Pager,
}

crate::page!(OpsPage);

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    RawQuery(raw): RawQuery,
    Query(filter): Query<OpFilter>,
) -> AppResult<Html<String>> {
    let q = filter.query(ctx.tz);
    let total = repo::count_ops(&st.db, &q).await?;
    let pager = Pager::from_query(raw.as_deref(), total);
    let rows = repo::ops(&st.db, &q, pager.limit(), pager.offset()).await?;
    let lang = ctx.lang;
    let lines = rows
        .iter()
        .map(|r| OpLine {
            at: ctx.datetime(&r.at),
            actor: r.actor_name.clone().unwrap_or_else(|| ctx.t("audit.system").to_string()),
            object: match r.entity_id {
                Some(id) => format!("{} #{id}", entity_label(lang, &r.entity)),
                None => entity_label(lang, &r.entity),
            },
            sentences: r.sentences(lang),
            ip: r.ip.clone().unwrap_or_default(),
        })
        .collect();
    let actors = repo::users(&st.db)
        .await?
        .into_iter()
        .map(|(id, name, login)| Choice::new(id, format!("{name} ({login})"), &filter.actor))
        .collect();
    let entities = options(catalog_codes("entity."), |e| entity_label(lang, e), &filter.entity);
    let actions = options(catalog_codes("audit.action."), |a| action_label(lang, a), &filter.action);
    render(OpsPage { ctx, filter, actors, entities, actions, lines, pager }).await
}

/// Filter options in the order of their labels in the reader's language.
fn options(codes: Vec<&str>, label: impl Fn(&str) -> String, current: &str) -> Vec<Choice> {
    let mut out: Vec<Choice> = codes.into_iter().map(|c| Choice::new(c, label(c), current)).collect();
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

#[derive(Template)]
#[template(path = "admin/logs/logins.html")]
struct LoginsPage {
    ctx: PageCtx,
    filter: LoginFilter,
    results: Vec<Choice>,
    rows: Vec<LoginRow>,
    pager: Pager,
}

crate::page!(LoginsPage);

pub async fn logins(
    State(st): State<AppState>,
    ctx: PageCtx,
    RawQuery(raw): RawQuery,
    Query(filter): Query<LoginFilter>,
) -> AppResult<Html<String>> {
    let q = filter.query(ctx.tz);
    let total = repo::count_logins(&st.db, &q).await?;
    let pager = Pager::from_query(raw.as_deref(), total);
    let rows = repo::logins(&st.db, &q, pager.limit(), pager.offset()).await?;
    let results = LOGIN_RESULTS.iter().map(|r| Choice::new(r, result_label(ctx.lang, r), &filter.result)).collect();
    render(LoginsPage { ctx, filter, results, rows, pager }).await
}
