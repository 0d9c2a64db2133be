//! Global search from the top bar: one page, results grouped by entity, each group scoped by
//! the user's data scope, matches highlighted. Modules add a group as they land.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::error::AppResult;
use crate::list::Hits;
use crate::modules::{contacts, contracts, customers, leads, opportunities, products};
use crate::state::AppState;
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

/// How many rows each group shows; the rest are behind its "show all" link.
const PER_GROUP: i64 = 10;

pub struct Hit {
    pub href: String,
    pub title: Vec<(String, bool)>,
    pub detail: Vec<(String, bool)>,
}

impl Hit {
    /// A row titled `title`, with the present `details` joined by " · ", both highlighted.
    fn new(href: String, title: &str, details: &[Option<&str>], q: &str) -> Hit {
        let detail = details.iter().flatten().filter(|d| !d.is_empty()).copied().collect::<Vec<_>>().join(" · ");
        Hit { href, title: highlight(title, q), detail: highlight(&detail, q) }
    }
}

pub struct Group {
    /// Stable name for the page (`data-group`): the module's path.
    pub key: &'static str,
    pub title: &'static str,
    pub total: i64,
    /// "1,000" or, when counting stopped there, "1,000+".
    pub total_display: String,
    pub all_href: String,
    pub hits: Vec<Hit>,
}

impl Group {
    /// The group of module `key` (its list lives at `/<key>`) from what its repo's search found.
    fn new<T>(key: &'static str, title: &'static str, q: &str, found: Hits<T>, hit: impl Fn(&T) -> Hit) -> Group {
        let enc: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
        Group {
            key,
            title,
            total: found.total,
            total_display: crate::web::format::thousands(found.total) + if found.at_least { "+" } else { "" },
            all_href: format!("/{key}?scene=all&q={enc}"),
            hits: found.rows.iter().map(hit).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "search/index.html")]
struct SearchPage {
    ctx: PageCtx,
    q: String,
    groups: Vec<Group>,
}

crate::page!(SearchPage);

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// One group per module the user may view, each searched within the user's scope for it.
async fn search(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(sq): Query<SearchQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let q = sq.q.trim().to_string();
    let mut groups = Vec::new();
    let db = &st.db;
    let searchable = !q.is_empty() && !crate::list::keyword::too_short(&q);
    let may = |m: Module| searchable && user.can(m, Action::View);
    if may(Module::Customers) {
        let scope = DataScope::resolve(db, user, Module::Customers).await?;
        let found = customers::search(db, &scope, &q, PER_GROUP).await?;
        groups.push(Group::new("customers", ctx.t("nav.customers"), &q, found, |c| {
            let phone = c.phone.as_deref().or(c.mobile.as_deref());
            Hit::new(
                format!("/customers/{}", c.id),
                &c.name,
                &[Some(c.code.as_str()), phone, c.owner_name.as_deref()],
                &q,
            )
        }));
    }
    if may(Module::Contacts) {
        let scope = DataScope::resolve(db, user, Module::Contacts).await?;
        let found = contacts::search(db, &scope, &q, PER_GROUP).await?;
        groups.push(Group::new("contacts", ctx.t("nav.contacts"), &q, found, |c| {
            let customer = Some(c.customer_name.clone());
            let details = [&customer, &c.mobile, &c.phone, &c.email, &c.wechat, &c.owner_name].map(|d| d.as_deref());
            Hit::new(format!("/contacts/{}", c.id), &c.name, &details, &q)
        }));
    }
    if may(Module::Leads) {
        let scope = DataScope::resolve(db, user, Module::Leads).await?;
        let found = leads::search(db, &scope, &q, PER_GROUP).await?;
        groups.push(Group::new("leads", ctx.t("nav.leads"), &q, found, |l| {
            let details = [&l.contact_name, &l.mobile, &l.phone, &l.email, &l.owner_name].map(|d| d.as_deref());
            Hit::new(format!("/leads/{}", l.id), &l.name, &details, &q)
        }));
    }
    if may(Module::Opportunities) {
        let scope = DataScope::resolve(db, user, Module::Opportunities).await?;
        let found = opportunities::search(db, &scope, &q, PER_GROUP).await?;
        groups.push(Group::new("opportunities", ctx.t("nav.opportunities"), &q, found, |o| {
            let (amount, status) = (ctx.money(&o.amount), ctx.t(o.status().label_key()));
            let details =
                [Some(o.customer_name.as_str()), Some(amount.as_str()), Some(status), o.owner_name.as_deref()];
            Hit::new(format!("/opportunities/{}", o.id), &o.name, &details, &q)
        }));
    }
    if may(Module::Contracts) {
        let scope = DataScope::resolve(db, user, Module::Contracts).await?;
        let found = contracts::search(db, &scope, &q, PER_GROUP).await?;
        groups.push(Group::new("contracts", ctx.t("nav.contracts"), &q, found, |k| {
            let (amount, status) = (ctx.money(&k.amount), ctx.t(k.status().label_key()));
            let details =
                [Some(k.number.as_str()), Some(k.customer_name.as_str()), Some(amount.as_str()), Some(status)];
            Hit::new(format!("/contracts/{}", k.id), &k.name, &details, &q)
        }));
    }
    if may(Module::Products) {
        let found = products::search(db, &q, PER_GROUP).await?;
        groups.push(Group::new("products", ctx.t("nav.products"), &q, found, |p| {
            let price = ctx.money(&p.price);
            Hit::new(
                format!("/products/{}", p.id),
                &p.name,
                &[Some(p.code.as_str()), Some(price.as_str()), p.spec.as_deref()],
                &q,
            )
        }));
    }
    render(SearchPage { ctx, q, groups }).await
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
