//! The follow-up records' export (`crate::exports`): the follow-ups the page lists (on customers
//! the user sees, narrowed by its filter, `push_from_where`), newest first as on the page.

use futures_util::future::BoxFuture;
use sqlx::QueryBuilder;

use super::{Filter, push_from_where};
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::exports::{Col, Kind, Rows, Source, Visible};
use crate::state::AppState;
use crate::web::i18n::Lang;

const JOINS: &str = "LEFT JOIN customers c ON c.id = t.customer_id JOIN users a ON a.id = t.created_by
     JOIN departments ad ON ad.id = a.dept_id";

/// What the follow-up is about when it is not the customer itself.
const ABOUT_NAME: &str = "CASE t.entity
     WHEN 'contact' THEN (SELECT name FROM contacts WHERE id = t.entity_id)
     WHEN 'lead' THEN (SELECT name FROM leads WHERE id = t.entity_id)
     WHEN 'opportunity' THEN (SELECT name FROM opportunities WHERE id = t.entity_id)
     WHEN 'contract' THEN (SELECT name FROM contracts WHERE id = t.entity_id)
     ELSE c.name END";

const COLUMNS: &[Col] = &[
    Col::new("time", "followup.time", "t.created_at", Kind::DateTime),
    Col::text("customer", "followup.customer", "c.name"),
    Col::text("customer_code", "customer.code", "c.code"),
    Col::new("about", "exports.followup.about", "t.entity", Kind::Label(entity)),
    Col::text("about_name", "exports.followup.about_name", ABOUT_NAME),
    Col::new("method", "timeline.method", "t.method_id", Kind::Dict),
    Col::text("content", "timeline.content", "t.content"),
    Col::text("rep", "followup.rep", "a.name"),
    Col::text("rep_dept", "followup.dept", "ad.name"),
    Col::new("next_contact", "timeline.next_contact", "t.next_contact_at", Kind::DateTime),
];

/// The page's columns.
const LISTED: &[&str] = &["time", "customer", "method", "content", "rep", "next_contact"];

fn entity(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("entity.{v}")).unwrap_or(v).to_string()
}

fn ids<'a>(st: &'a AppState, user: &'a CurrentUser, raw: &'a str) -> BoxFuture<'a, AppResult<Vec<i64>>> {
    Box::pin(async move {
        let filter: Filter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
        let scope = DataScope::resolve(&st.db, user, Module::Followups).await?;
        let mut q = QueryBuilder::new("SELECT fu.id ");
        push_from_where(&mut q, &scope, &filter, st.config.timezone);
        Ok(q.build_query_scalar().fetch_all(&st.db).await?)
    })
}

/// The follow-up records page (`/followups`).
pub fn source() -> Source {
    Source {
        code: "followups",
        module: Module::Followups,
        right: Action::Export,
        title: "followup.title",
        entity: "followup",
        list_path: "/followups",
        table: "followups",
        joins: JOINS,
        order: "t.created_at DESC, t.id DESC",
        columns: COLUMNS,
        custom: None,
        dicts: &["followup_method"],
        rows: Rows::Own(ids),
        visible: Visible::Fixed(LISTED),
    }
}
