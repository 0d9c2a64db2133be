//! Global search from the top bar: one page, results grouped by entity, each group scoped by
//! the user's data scope, matches highlighted. Modules add a group as they land.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::app::AppState;
use crate::error::AppResult;
use crate::modules::customers;
use crate::web::{PageCtx, RequestCtx, render};

pub fn routes() -> Routes {
    Routes::new().get("/search", Guard::Login, search)
}

/// Text split into (segment, is_match) pieces, for <mark>.
pub fn highlight(text: &str, needle: &str) -> Vec<(String, bool)> {
    let needle = needle.trim();
    if needle.is_empty() {
        return vec![(text.to_string(), false)];
    }
    let lower = text.to_lowercase();
    let n = needle.to_lowercase();
    // Case folding can change byte lengths; only highlight when it does not.
    if lower.len() != text.len() {
        return vec![(text.to_string(), false)];
    }
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(pos) = lower[at..].find(&n) {
        let start = at + pos;
        if start > at {
            out.push((text[at..start].to_string(), false));
        }
        out.push((text[start..start + n.len()].to_string(), true));
        at = start + n.len();
    }
    if at < text.len() {
        out.push((text[at..].to_string(), false));
    }
    out
}

pub struct Hit {
    pub href: String,
    pub title: Vec<(String, bool)>,
    pub detail: Vec<(String, bool)>,
}

pub struct Group {
    pub title: &'static str,
    pub total: i64,
    /// "1,000" or, when counting stopped there, "1,000+".
    pub total_display: String,
    pub all_href: String,
    pub hits: Vec<Hit>,
}

#[derive(Template)]
#[template(path = "search/index.html")]
struct SearchPage {
    ctx: PageCtx,
    q: String,
    groups: Vec<Group>,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(sq): Query<SearchQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let q = sq.q.trim().to_string();
    let mut groups = Vec::new();
    if !q.is_empty() && user.can(Module::Customers, Action::View) {
        let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
        let found = customers::repo::search(&st.db, &scope, &q, 10).await?;
        let total_display = crate::web::format::thousands(found.total) + if found.at_least { "+" } else { "" };
        let enc: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
        groups.push(Group {
            title: ctx.t("nav.customers"),
            total: found.total,
            total_display,
            all_href: format!("/customers?scene=all&q={enc}"),
            hits: found
                .rows
                .into_iter()
                .map(|(id, code, name, phone, owner)| {
                    let detail = [Some(code), phone, owner].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                    Hit {
                        href: format!("/customers/{id}"),
                        title: highlight(&name, &q),
                        detail: highlight(&detail, &q),
                    }
                })
                .collect(),
        });
    }
    render(SearchPage { ctx, q, groups })
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn marks_every_match() {
        assert_eq!(
            highlight("上海华信上海", "上海"),
            vec![("上海".to_string(), true), ("华信".to_string(), false), ("上海".to_string(), true)]
        );
        assert_eq!(highlight("ACME Ltd", "acme")[0], ("ACME".to_string(), true));
    }
}
