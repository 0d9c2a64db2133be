//! The one list mechanism every module's list page uses:
//!
//! - a typed filter per module, turned into SQL with bound values (the module's repo);
//! - system scenes (all I can see, mine, my subordinates', starred, shared with me) and saved
//!   scenes a user names, renames, deletes and makes their default (`scenes`);
//! - allow-listed sort keys (`Sort`), page size choice and a pager with the total (`Pager`);
//! - a column chooser remembered per user, custom fields included (`columns`);
//! - checkboxes and bulk actions on the selected rows or on every row matching the filter
//!   (`Selection`).
//!
//! Everything goes through the data-scope predicate; the module passes its `DataScope`.

pub mod columns;
pub mod filters;
pub mod keyword;
mod narrowing;
pub mod prefs;
mod record;
pub mod scenes;

use serde::Deserialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::access::DataScope;
use crate::web::Pager;

pub use columns::{Column, ColumnChoice};
pub use narrowing::{FilterContext, Narrowing, Narrows, Owned};
pub use record::{ListRow, RecordList, UserNames, usual_total};
pub use scenes::{SavedScene, Scene};

/// A sortable column: the query-string key and the SQL expression it orders by.
#[derive(Clone, Copy, Debug)]
pub struct SortKey {
    pub key: &'static str,
    pub sql: &'static str,
    /// The column may be NULL: empty values go last. Non-null columns get a plain ORDER BY so
    /// it matches their index and the page is read in order instead of sorted.
    pub nullable: bool,
}

#[derive(Clone, Debug)]
pub struct Sort {
    pub key: &'static str,
    pub sql: &'static str,
    pub desc: bool,
    pub nullable: bool,
}

impl Sort {
    /// The requested sort if its key is allowed, else the default (first key, descending).
    pub fn from_query(keys: &'static [SortKey], sort: &str, dir: &str, default: (&'static str, bool)) -> Sort {
        let pick = |k: &str| keys.iter().find(|s| s.key == k);
        match pick(sort) {
            Some(s) => Sort { key: s.key, sql: s.sql, desc: dir != "asc", nullable: s.nullable },
            None => {
                let s = pick(default.0).unwrap_or(&keys[0]);
                Sort { key: s.key, sql: s.sql, desc: default.1, nullable: s.nullable }
            }
        }
    }

    /// ` ORDER BY <expr> <dir>, <alias>.id <dir>` (the id keeps pages stable).
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>, alias: &str) {
        let dir = if self.desc { "DESC" } else { "ASC" };
        let nulls = match (self.nullable, self.desc) {
            (false, _) => "",
            (true, true) => " NULLS LAST",
            (true, false) => " NULLS FIRST",
        };
        qb.push(format_args!(" ORDER BY {} {dir}{nulls}, {alias}.id {dir}", self.sql));
    }
}

/// Rows chosen for a bulk action: ticked ids, or every row matching the list's filter
/// (`all=1` with the list's query string in `filter`).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct Selection {
    #[serde(default)]
    pub ids: Vec<i64>,
    #[serde(default)]
    pub all: Option<String>,
    #[serde(default)]
    pub filter: String,
}

impl Selection {
    /// Read the selection out of a form that also carries other fields.
    pub fn from_form(form: &crate::web::FormData) -> Selection {
        Selection {
            ids: form.all("ids").iter().filter_map(|v| v.trim().parse().ok()).collect(),
            all: Some(form.get("all").to_string()).filter(|a| !a.is_empty()),
            filter: form.get("filter").to_string(),
        }
    }

    pub fn all_matching(&self) -> bool {
        self.all.as_deref().is_some_and(|a| a == "1" || a == "on")
    }

    pub fn is_empty(&self) -> bool {
        !self.all_matching() && self.ids.is_empty()
    }

    /// Where to go back to after the action: the list with its filter.
    pub fn back(&self, list_path: &str) -> String {
        let q = scenes::strip_paging(&self.filter);
        if q.is_empty() { list_path.to_string() } else { format!("{list_path}?{q}") }
    }
}

/// One rendered cell of a list row.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub class: &'static str,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), ..Default::default() }
    }
    pub fn link(text: impl Into<String>, href: String) -> Cell {
        Cell { text: text.into(), href: Some(href), class: "" }
    }
    pub fn num(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), href: None, class: "num" }
    }
}

#[derive(Clone, Debug)]
pub struct Row {
    pub id: i64,
    pub cells: Vec<Cell>,
    /// Marks such as "locked" shown as badges after the first cell.
    pub badges: Vec<(String, &'static str)>,
}

/// A column header: label, and the link that sorts by it (None when not sortable).
#[derive(Clone, Debug)]
pub struct Header {
    pub label: String,
    pub sort_href: Option<String>,
    /// "asc" / "desc" when the list is sorted by this column.
    pub sorted: Option<&'static str>,
}

/// A bulk action button above the table.
#[derive(Clone, Debug)]
pub struct BulkAction {
    pub label: String,
    pub action: String,
    pub confirm: Option<String>,
    pub danger: bool,
}

/// What the shared list template needs.
#[derive(Clone, Debug)]
pub struct ListView {
    /// The list's path, e.g. "/customers".
    pub path: String,
    pub raw_query: String,
    pub scenes: Vec<scenes::SceneTab>,
    pub headers: Vec<Header>,
    pub rows: Vec<Row>,
    pub pager: Pager,
    pub bulk: Vec<BulkAction>,
    /// The URL of the column chooser.
    pub columns_href: String,
}

impl ListView {
    pub fn has_bulk(&self) -> bool {
        !self.bulk.is_empty()
    }

    /// Column count including the checkbox column.
    pub fn span(&self) -> usize {
        self.headers.len() + usize::from(self.has_bulk())
    }
}

/// Headers for the chosen columns with sort links that keep the filter.
pub fn headers(columns: &[Column], raw_query: &str, sort: &Sort, label: impl Fn(&Column) -> String) -> Vec<Header> {
    let base: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .filter(|(k, _)| !matches!(k.as_str(), "sort" | "dir" | "page"))
        .collect();
    columns
        .iter()
        .map(|c| {
            let sort_href = c.sort.map(|key| {
                let dir = if sort.key == key && sort.desc { "asc" } else { "desc" };
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.extend_pairs(base.iter());
                q.append_pair("sort", key).append_pair("dir", dir);
                format!("?{}", q.finish())
            });
            let sorted = c.sort.filter(|k| *k == sort.key).map(|_| if sort.desc { "desc" } else { "asc" });
            Header { label: label(c), sort_href, sorted }
        })
        .collect()
}

/// What a list shows for its rows: the select list and the FROM clause with the joins that
/// decorate a row (owner name, department...). `alias` is the main table's alias.
pub struct Page<'a> {
    pub select: &'a str,
    pub from: &'a str,
    pub alias: &'a str,
}

/// How a list gets its total.
#[derive(Clone, Copy, Debug)]
pub enum Total {
    /// Already known, e.g. from `owner_total`.
    Known(i64),
    /// Count the rows `core` matches.
    Count,
    /// Count, but stop past this many and show "1,000+": for keyword searches and logs, where a
    /// common term or a big department would otherwise cost a scan of most of the table on every
    /// page, and nobody pages through more anyway.
    UpTo(i64),
}

/// Where a list with a keyword stops counting.
pub const KEYWORD_COUNT_CAP: i64 = 1_000;

/// One page of a list, in three steps that each stay cheap at a million rows:
/// 1. the total (see `Total`);
/// 2. the page's ids: `core` (`FROM ... WHERE ...`, scope and filters) sorted and limited, so the
///    sort runs on the bare table and its index, not on joined rows;
/// 3. the rows for those ids only, with their decorating joins.
pub async fn fetch_page<T>(
    db: &PgPool,
    page: Page<'_>,
    core: impl Fn(&mut QueryBuilder<'_, Postgres>),
    sort: &Sort,
    raw_query: Option<&str>,
    total: Total,
) -> sqlx::Result<(Pager, Vec<T>)>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let alias = page.alias;
    let (total, capped) = match total {
        Total::Known(t) => (t, false),
        Total::Count => {
            let mut count = QueryBuilder::new("SELECT count(*) ");
            core(&mut count);
            (count.build_query_scalar().fetch_one(db).await?, false)
        }
        Total::UpTo(cap) => count_up_to(db, &core, cap).await?,
    };
    let pager = Pager::from_query(raw_query, total).capped(capped);
    let mut q = QueryBuilder::new(format!("SELECT {alias}.id "));
    core(&mut q);
    sort.push(&mut q, alias);
    q.push(" LIMIT ").push_bind(pager.limit()).push(" OFFSET ").push_bind(pager.offset());
    let ids: Vec<i64> = q.build_query_scalar().fetch_all(db).await?;
    Ok((pager, rows_for(db, &page, ids).await?))
}

/// How many rows `core` matches, counting no further than `cap`; and whether there were more.
async fn count_up_to(
    db: &PgPool,
    core: &impl Fn(&mut QueryBuilder<'_, Postgres>),
    cap: i64,
) -> sqlx::Result<(i64, bool)> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 ");
    core(&mut count);
    count.push(" LIMIT ").push_bind(cap + 1).push(") up_to");
    let n: i64 = count.build_query_scalar().fetch_one(db).await?;
    Ok((n.min(cap), n > cap))
}

/// The rows of `page` for these ids, in their order.
async fn rows_for<T>(db: &PgPool, page: &Page<'_>, ids: Vec<i64>) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let alias = page.alias;
    let mut rows = QueryBuilder::new(page.select);
    rows.push(" ").push(page.from).push(format_args!(" WHERE {alias}.id = ANY("));
    rows.push_bind(ids.clone()).push(format_args!(") ORDER BY array_position("));
    rows.push_bind(ids).push(format_args!(", {alias}.id)"));
    rows.build_query_as().fetch_all(db).await
}

/// What the top bar's search finds in one module.
pub struct Hits<T> {
    /// How many visible records match, counted up to `KEYWORD_COUNT_CAP`...
    pub total: i64,
    /// ...and whether there are more than that.
    pub at_least: bool,
    /// The most recently updated few.
    pub rows: Vec<T>,
}

/// The top bar's search in one module: the records `core` matches (`FROM ... WHERE ...`: live,
/// scoped, keyword; as the module's list filtered by the keyword), counted like a keyword list,
/// and the `limit` most recently updated of them as `page` rows: the lists' default order, which
/// each module's `<table>_owner_updated` and `<table>_updated` indexes serve.
pub async fn search_hits<T>(
    db: &PgPool,
    page: Page<'_>,
    core: impl Fn(&mut QueryBuilder<'_, Postgres>),
    limit: i64,
) -> sqlx::Result<Hits<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let (total, at_least) = count_up_to(db, &core, KEYWORD_COUNT_CAP).await?;
    if total == 0 {
        return Ok(Hits { total, at_least, rows: Vec::new() });
    }
    let alias = page.alias;
    let mut q = QueryBuilder::new(format!("SELECT {alias}.id "));
    core(&mut q);
    q.push(format_args!(" ORDER BY {alias}.updated_at DESC, {alias}.id DESC LIMIT ")).push_bind(limit);
    let ids: Vec<i64> = q.build_query_scalar().fetch_all(db).await?;
    Ok(Hits { total, at_least, rows: rows_for(db, &page, ids).await? })
}

/// Keep only ids visible to `scope` (for bulk actions on ticked rows).
pub async fn visible_ids(
    db: &PgPool,
    table: &str,
    entity: &str,
    scope: &DataScope,
    ids: &[i64],
) -> sqlx::Result<Vec<i64>> {
    let mut q = QueryBuilder::new(format!("SELECT t.id FROM {table} t WHERE t.id = ANY("));
    q.push_bind(ids.to_vec()).push(") AND t.deleted_at IS NULL AND ");
    scope.push_visible(&mut q, "t", entity);
    q.build_query_scalar().fetch_all(db).await
}

/// The total of an unfiltered list of owned records without counting rows: the per-owner
/// counters (kept by a trigger, see migration 0013) summed over the owners in scope, plus the few
/// records reached through team places or shares whose owner is not in scope. `table` and
/// `entity` are code constants. `with_unowned` says whether the list shows records without an
/// owner (leads do; customers without one are in the pool, listed elsewhere) — counted under
/// owner 0, and only seen by an all-data scope.
pub async fn owner_total(
    db: &PgPool,
    entity: &str,
    table: &str,
    scope: &DataScope,
    with_unowned: bool,
) -> sqlx::Result<i64> {
    let Some(owners) = &scope.owners else {
        return sqlx::query_scalar(
            "SELECT coalesce(sum(n), 0)::bigint FROM owner_counts WHERE entity = $1 AND (owner_id <> 0 OR $2)",
        )
        .bind(entity)
        .bind(with_unowned)
        .fetch_one(db)
        .await;
    };
    let owned: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(n), 0)::bigint FROM owner_counts WHERE entity = $1 AND owner_id = ANY($2)",
    )
    .bind(entity)
    .bind(owners)
    .fetch_one(db)
    .await?;
    let mut q =
        QueryBuilder::new(format!("SELECT count(*) FROM {table} t WHERE t.deleted_at IS NULL AND t.id = ANY(ARRAY("));
    scope.push_extra_ids(&mut q, entity);
    q.push(")) AND ");
    if !with_unowned {
        q.push("t.owner_id IS NOT NULL AND ");
    }
    q.push("(t.owner_id IS NULL OR NOT t.owner_id = ANY(").push_bind(owners.clone()).push("))");
    let reached: i64 = q.build_query_scalar().fetch_one(db).await?;
    Ok(owned + reached)
}

/// Records owned by the user (the "mine" scene) from the counters.
pub async fn own_total(db: &PgPool, entity: &str, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT coalesce(sum(n), 0)::bigint FROM owner_counts WHERE entity = $1 AND owner_id = $2")
        .bind(entity)
        .bind(user_id)
        .fetch_one(db)
        .await
}

/// The query string without paging and sorting: the same filter on another view of the list
/// (the opportunity board and forecast read the list's filter).
pub fn without_paging(raw: &str) -> String {
    let pairs = form_urlencoded::parse(raw.trim_start_matches('?').as_bytes())
        .into_owned()
        .filter(|(k, v)| !matches!(k.as_str(), "page" | "per_page" | "sort" | "dir") && !v.is_empty());
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}
