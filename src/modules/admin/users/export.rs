//! The user list's export (`crate::exports`): the users the admin page lists for its filter
//! (`repo::ids`), in its order, for holders of the organisation's "manage" right.

use futures_util::future::BoxFuture;

use super::model::UserFilter;
use super::repo;
use crate::access::{Action, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::exports::{Col, Kind, Rows, Source, Visible};
use crate::state::AppState;
use crate::web::i18n::Lang;

const JOINS: &str = "JOIN departments d ON d.id = t.dept_id LEFT JOIN users s ON s.id = t.superior_id";

const COLUMNS: &[Col] = &[
    Col::text("name", "user.name", "t.name"),
    Col::text("login", "user.login", "t.login"),
    Col::text("mobile", "user.mobile", "t.mobile"),
    Col::text("email", "user.email", "t.email"),
    Col::new("gender", "user.gender", "t.gender", Kind::Label(gender)),
    Col::text("dept", "user.dept", "d.name"),
    Col::text("position", "user.position", "t.position"),
    Col::text("superior", "user.superior", "s.name"),
    Col::text(
        "roles",
        "user.roles",
        "(SELECT string_agg(r.name, '、' ORDER BY r.id) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
           WHERE ur.user_id = t.id)",
    ),
    Col::new("status", "user.status", "t.status", Kind::Label(status)),
    Col::new("last_login", "user.last_login", "t.last_login_at", Kind::DateTime),
];

/// The page's columns.
const LISTED: &[&str] = &["name", "login", "dept", "position", "superior", "roles", "status", "last_login"];

fn gender(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("user.gender.{v}")).unwrap_or(v).to_string()
}

fn status(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("user.status.{v}")).unwrap_or(v).to_string()
}

fn ids<'a>(st: &'a AppState, _user: &'a CurrentUser, raw: &'a str) -> BoxFuture<'a, AppResult<Vec<i64>>> {
    Box::pin(async move {
        let filter: UserFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
        Ok(repo::ids(&st.db, &filter).await?)
    })
}

/// The users admin page (`/admin/users`).
pub fn source() -> Source {
    Source {
        code: "users",
        module: Module::Org,
        right: Action::Manage,
        title: "nav.users",
        entity: "user",
        list_path: "/admin/users",
        table: "users",
        joins: JOINS,
        order: "t.status, (SELECT name FROM departments WHERE id = t.dept_id), t.name, t.id",
        columns: COLUMNS,
        custom: None,
        dicts: &[],
        rows: Rows::Own(ids),
        visible: Visible::Fixed(LISTED),
    }
}
