//! Export: any list to a spreadsheet (.xlsx) or a CSV file — exactly the rows the user sees on
//! it, no more and no fewer.
//!
//! A module describes an exportable list once, as a `Source` it registers in its `register`
//! (`r.export(...)`): the code in its URL (`/export/<code>`), the permission guarding it, its
//! columns (keyed like the list's own columns, so the user's column choice maps over; each with
//! its SQL on alias `t` and the type of its cells) and how it finds the ids a list query string
//! matches — for a record kind its `Record::matching`, the very ids its bulk actions reach. The
//! kernel does the rest:
//!
//! - `GET /export/<code>?<the list's query>`: the options page (format, columns, rows);
//!   `POST /export/<code>` without a format: the same page for the rows ticked on the list
//!   (its bulk bar's "export");
//! - `POST /export/<code>` with a format: the file. Rows are read `CHUNK` ids at a time, so
//!   memory stays flat at any size; an .xlsx is written in constant-memory mode to a temp file,
//!   then streamed; a CSV (UTF-8 with a BOM, so spreadsheets read Chinese right) streams as it is
//!   made;
//! - one audit row per export (who, which list, the filter, how many rows), in the operation log.
//!
//! Cells are typed (`cells::Value`): dates and times are spreadsheet dates in local time, amounts
//! numbers with two decimals, phones and codes always text, dictionary items and users by their
//! names in the reader's language; text a spreadsheet would take for a formula is neutralised.

mod cells;
mod csv;
mod handlers;
mod rows;
mod xlsx;

use futures_util::future::BoxFuture;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::list::{BulkAction, Column};
use crate::records::{Record, RecordDef};
use crate::state::AppState;
use crate::web::PageCtx;
use crate::web::i18n::Lang;

pub use cells::{Value, neutralise};

/// Ids are read from the database this many at a time.
pub const CHUNK: usize = 2_000;

/// An .xlsx sheet holds 1,048,576 rows, the header included.
pub const XLSX_MAX_ROWS: usize = 1_048_575;

/// The ids of the live rows a list's query string matches, for the user, within their scope.
pub type Ids = for<'a> fn(&'a AppState, &'a CurrentUser, &'a str) -> BoxFuture<'a, AppResult<Vec<i64>>>;

/// Every column a list can show the user, given its custom fields (`Record::column_list`).
pub type ListColumns = fn(&[FieldDef], Lang, &CurrentUser) -> Vec<Column>;

/// An exportable list.
pub struct Source {
    /// In the URL (`/export/customers`) and the audit row.
    pub code: &'static str,
    /// The permission exporting needs: `(module, Action::Export)`; users: `(Org, Manage)`.
    pub module: Module,
    pub right: Action,
    /// i18n key of the list's name ("nav.customers"): the file and sheet are named after it.
    pub title: &'static str,
    /// The entity the audit row names (`entity.<x>` in the catalog).
    pub entity: &'static str,
    /// The list page, where the options page goes back to.
    pub list_path: &'static str,
    /// The main table, alias `t`, and joins the columns' SQL needs (decorating joins only: the
    /// rows are already chosen).
    pub table: &'static str,
    pub joins: &'static str,
    /// ORDER BY on alias `t`: the list's default order. Empty: the order the ids come in from
    /// `rows` (a list whose order depends on its view or on the user: tasks, work logs).
    pub order: &'static str,
    pub columns: &'static [Col],
    /// The entity whose custom fields (in `t.custom`) are columns too.
    pub custom: Option<&'static str>,
    /// The dictionaries the `Dict` and `DictPath` columns name.
    pub dicts: &'static [&'static str],
    pub rows: Rows,
    /// What "the columns I see" means on this list.
    pub visible: Visible,
}

/// How a source finds its rows.
pub enum Rows {
    /// A registered record kind: a filter's ids from `Ids` (use `matching::<R>`), ticked ids
    /// kept when the user sees them (`records::sql::visible_ids`).
    Record(&'static RecordDef, Ids),
    /// A list of its own: a filter's ids; ticked ids are kept when the list's filter matches them.
    Own(Ids),
}

/// The list's visible columns.
pub enum Visible {
    /// Chosen by each user on the list's column page: the list-preference module code and the
    /// list's columns.
    Chosen(&'static str, ListColumns),
    /// A list with fixed columns: their keys.
    Fixed(&'static [&'static str]),
}

/// One exported column.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    /// The list's column key where the list has it ("visible columns" maps by key).
    pub key: &'static str,
    /// i18n key of the header.
    pub label: &'static str,
    /// SQL on alias `t` (and the source's joins). `{lang}` becomes `zh` or `en`, for columns
    /// stored in both languages (`name_{lang}`).
    pub sql: &'static str,
    pub kind: Kind,
    /// Only for users who also hold this action on the source's module (a product's cost).
    pub needs: Option<Action>,
}

/// How a column's value becomes a cell.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Text, always a text cell: names, phones, codes, numbers people type.
    Text,
    /// A whole number.
    Int,
    /// An amount (`numeric`): a number shown with two decimals.
    Money,
    /// A whole percentage (`60` for 60%): shown as a percentage.
    Percent,
    /// A `date`.
    Date,
    /// A `timestamptz`, in local time.
    DateTime,
    /// Yes / no in the reader's language.
    Bool,
    /// A dictionary item's id: its label.
    Dict,
    /// A dictionary item in a tree (regions): its path, "广东 / 深圳".
    DictPath,
    /// A code the module names in the reader's language (statuses).
    Label(fn(Lang, &str) -> String),
}

impl Col {
    pub const fn new(key: &'static str, label: &'static str, sql: &'static str, kind: Kind) -> Col {
        Col { key, label, sql, kind, needs: None }
    }

    pub const fn text(key: &'static str, label: &'static str, sql: &'static str) -> Col {
        Col::new(key, label, sql, Kind::Text)
    }

    /// Only for users holding `action` on the source's module.
    pub const fn needs(self, action: Action) -> Col {
        Col { needs: Some(action), ..self }
    }
}

impl Source {
    /// The guard of its routes.
    pub fn guard(&self) -> Guard {
        Guard::Perm(self.module, self.right)
    }

    pub fn allows(&self, user: &CurrentUser) -> bool {
        user.can(self.module, self.right)
    }

    pub fn path(&self) -> String {
        format!("/export/{}", self.code)
    }
}

/// `Ids` of a registered record kind: its list's filter, within the user's scope.
pub fn matching<'a, R: Record>(
    st: &'a AppState,
    user: &'a CurrentUser,
    raw: &'a str,
) -> BoxFuture<'a, AppResult<Vec<i64>>> {
    Box::pin(async move {
        let scope = DataScope::resolve(&st.db, user, R::DEF.module).await?;
        R::matching(st, user, &scope, raw).await
    })
}

/// The registered source with this code.
pub fn source(code: &str) -> Option<&'static Source> {
    crate::registry::get().exports().iter().find(|s| s.code == code)
}

/// The Export button's link for list `code` with the list's query string (or the page's path
/// and query, `ctx.here`), when the user may export it (`templates/partials/export.html`).
pub fn href(ctx: &PageCtx, code: &str, query: &str) -> Option<String> {
    let (user, source) = (ctx.user.as_deref()?, source(code)?);
    if !source.allows(user) {
        return None;
    }
    let query = query.split_once('?').map_or(query, |(_, q)| q);
    let query = crate::list::scenes::strip_paging(query);
    Some(if query.is_empty() { source.path() } else { format!("{}?{query}", source.path()) })
}

/// The bulk bar's "export" on list `code` (ticked rows, or all matching), when the user may.
pub fn bulk_action(ctx: &PageCtx, user: &CurrentUser, code: &str) -> Option<BulkAction> {
    let source = source(code).filter(|s| s.allows(user))?;
    Some(BulkAction { label: ctx.t("exports.bulk").to_string(), action: source.path(), confirm: None, danger: false })
}

/// The bulk bar's "export" on a record kind's list.
pub fn bulk_action_for(def: &'static RecordDef, ctx: &PageCtx, user: &CurrentUser) -> Option<BulkAction> {
    let source = crate::registry::get()
        .exports()
        .iter()
        .find(|s| matches!(s.rows, Rows::Record(d, _) if d.entity == def.entity))?;
    bulk_action(ctx, user, source.code)
}

/// `GET` (options) and `POST` (the file) for every registered source, each behind its own right.
pub fn routes() -> Routes {
    let mut routes = Routes::new();
    for source in crate::registry::get().exports() {
        let path: &'static str = Box::leak(source.path().into_boxed_str());
        routes = routes.get(path, source.guard(), handlers::options).post(path, source.guard(), handlers::export);
    }
    routes
}
