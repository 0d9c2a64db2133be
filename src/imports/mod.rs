//! Excel import (导入): a module's records from .xlsx, .xls and .csv files, run as a job in
//! batches (导入批次) that survive restarts, with an error report per batch, undo and merge.
//!
//! A module makes its records importable by registering an `imports::Source`: the fields a file
//! may fill (they become the template's columns, with the kind's custom fields after them) and
//! `write`, which checks one row with the module's own validation and saves it — the same rules
//! as its form, so an import can never store what the form would refuse. Everything else is
//! here: reading files (`read`), matching headers and turning cells into form values
//! (`convert`), the template and the error report (`sheets`), the job that writes rows in chunks
//! (`worker`), and the pages (`handlers`).

mod batches;
pub mod convert;
mod pages;
pub mod read;
mod repo;
mod sheets;
pub mod worker;

use futures_util::future::BoxFuture;
use sqlx::PgConnection;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::records::RecordDef;
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors};

/// A kind of record that can be imported.
pub struct Source {
    /// The record kind: its module (the `import` right), entity, table and list path.
    pub def: &'static RecordDef,
    /// The module's own fields, in the template's order (custom fields follow).
    pub fields: &'static [Field],
    /// The dictionaries `write` needs (loaded once per batch).
    pub dicts: &'static [&'static str],
    /// What a duplicate may become besides being skipped.
    pub may_update: bool,
    /// "Create anyway" is offered: the module's duplicate rules decide row by row (a blocking
    /// rule still refuses).
    pub may_create_anyway: bool,
    /// New records may go to the public pool instead of an owner (customers).
    pub pool_owner: bool,
    /// The importer chooses the new records' owner (me / a user / round-robin); false where the
    /// kind has none (products) or takes it from elsewhere (contacts follow their customer).
    pub chooses_owner: bool,
    /// Check and save one row, in the batch's transaction (a savepoint: whatever it wrote is
    /// undone unless it answers Created or Updated).
    pub write: for<'a> fn(&'a mut PgConnection, &'a Batch, Row<'a>) -> BoxFuture<'a, AppResult<Outcome>>,
    /// Optionally, a chunk's rows at once with a statement per step rather than per row (what
    /// makes a 100,000-row import take seconds, not minutes). It answers each row or leaves it
    /// (`None`) to `write`, which then runs on it in file order after the chunk — for what it
    /// does not handle set-wise (a duplicate to update, a row clashing with another of the same
    /// chunk). It must decide every row as `write` would. On an error nothing it wrote is kept
    /// and the chunk is written row by row.
    pub write_chunk: Option<WriteChunk>,
    /// Undo: records to the recycle bin as the list's delete moves them (the kind's delete
    /// blockers apply) — `records::bin::bin_ids::<Kind>`. Returns (binned, refusals).
    pub bin:
        for<'a> fn(&'a mut PgConnection, &'a [i64], i64, Lang) -> BoxFuture<'a, AppResult<(Vec<i64>, Vec<String>)>>,
}

impl Source {
    /// The import source's code: its module's ("customers").
    pub fn code(&self) -> &'static str {
        self.def.module.code()
    }

    pub fn module(&self) -> Module {
        self.def.module
    }

    /// Every dictionary its rows use: its own list and its dictionary fields'.
    pub fn dict_codes(&self) -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = self.dicts.to_vec();
        codes.extend(self.fields.iter().filter_map(|f| match f.kind {
            Kind::Dict(d) => Some(d),
            _ => None,
        }));
        codes
    }
}

/// See `Source::write_chunk`: one answer per row, in order.
pub type WriteChunk =
    for<'a> fn(&'a mut PgConnection, &'a Batch, &'a [Row<'a>]) -> BoxFuture<'a, AppResult<Vec<Option<Outcome>>>>;

/// A column a file may fill. `key` is the form field the module's validation reads.
pub struct Field {
    pub key: &'static str,
    /// i18n key of its name (the template's header; headers match it in either language).
    pub label: &'static str,
    pub required: bool,
    pub kind: Kind,
}

impl Field {
    /// An optional column.
    pub const fn of(key: &'static str, label: &'static str, kind: Kind) -> Field {
        Field { key, label, required: false, kind }
    }

    /// A column every row must fill.
    pub const fn required(key: &'static str, label: &'static str, kind: Kind) -> Field {
        Field { key, label, required: true, kind }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Text,
    /// Kept as text exactly as typed (a number cell is written without exponent or decimals).
    Phone,
    /// Any common date form (2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日, an Excel date) →
    /// 2026-03-05.
    Date,
    /// A date with an optional time (an Excel date-time, "2026-03-05 14:30", or a date alone at
    /// midnight) → "2026-03-05 14:30", as a `datetime-local` field parses it.
    DateTime,
    /// A number, exact (no float rounding): "12,345.60" → "12345.60".
    Number,
    /// A dictionary item, by label (either language, a tree's "广东 / 深圳" path or its last
    /// part) or code → its id. Unknown labels are row errors.
    Dict(&'static str),
    /// One of fixed values: (value, i18n key of its label).
    Choice(&'static [(&'static str, &'static str)]),
    /// A user by name or login → id.
    User,
}

/// What becomes of a row whose record already exists (the module's duplicate rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DupMode {
    Skip,
    Update,
    Create,
}

impl DupMode {
    pub fn code(self) -> &'static str {
        match self {
            DupMode::Skip => "skip",
            DupMode::Update => "update",
            DupMode::Create => "create",
        }
    }
}

/// Who owns a created record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    User(i64),
    /// The public pool (customers only).
    Pool,
}

/// Everything a batch's rows share, loaded once when the batch starts (or resumes).
pub struct Batch {
    pub id: i64,
    pub st: AppState,
    /// The user who started the import: their rights and scope apply to every row.
    pub user: CurrentUser,
    pub scope: DataScope,
    pub lang: Lang,
    pub dicts: Dicts,
    /// The kind's active custom fields.
    pub defs: Vec<FieldDef>,
    /// Active users (what a `user` custom field may name).
    pub active_users: Vec<i64>,
    pub dup: DupMode,
    /// What a module reads once per batch rather than per row (its duplicate rules, owners'
    /// caps), by a key of its choice.
    pub memo:
        std::sync::Mutex<std::collections::HashMap<&'static str, std::sync::Arc<dyn std::any::Any + Send + Sync>>>,
}

impl Batch {
    /// The value kept under `key`, if any.
    pub fn memo<T: std::any::Any + Send + Sync>(&self, key: &'static str) -> Option<std::sync::Arc<T>> {
        let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        memo.get(key).cloned().and_then(|v| v.downcast::<T>().ok())
    }

    /// Keep `value` under `key` for the rest of the batch.
    pub fn keep<T: std::any::Any + Send + Sync>(&self, key: &'static str, value: T) -> std::sync::Arc<T> {
        let value = std::sync::Arc::new(value);
        self.memo.lock().unwrap_or_else(|e| e.into_inner()).insert(key, value.clone());
        value
    }
}

/// One row, as the module's form would have received it.
pub struct Row<'a> {
    /// Its row number in the sheet (1 = the header).
    pub no: i32,
    pub form: &'a FormData,
    /// The owner a new record gets.
    pub owner: Owner,
}

/// What became of a row.
#[derive(Debug)]
pub enum Outcome {
    Created(i64),
    /// An existing record (a duplicate, in update mode) was changed.
    Updated(i64),
    /// Not written, with the reason (a duplicate in skip mode, a blocking duplicate rule).
    Skipped(String),
    /// Refused, with the reason (over the owner's cap, not allowed).
    Failed(String),
    /// The module's validation refused it: field errors by form field name.
    Invalid(FormErrors),
}

impl Outcome {
    /// As `import_rows.outcome` stores it.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Created(_) => "created",
            Outcome::Updated(_) => "updated",
            Outcome::Skipped(_) => "skipped",
            Outcome::Failed(_) | Outcome::Invalid(_) => "failed",
        }
    }

    pub fn record(&self) -> Option<i64> {
        match self {
            Outcome::Created(r) | Outcome::Updated(r) => Some(*r),
            _ => None,
        }
    }
}

/// Whether `user` may import records of `module` (its list shows the Import button).
pub fn may_import(user: &CurrentUser, module: Module) -> bool {
    user.can(module, Action::Import) && source_of(module.code()).is_some()
}

/// The source registered for a module code.
pub fn source_of(code: &str) -> Option<&'static Source> {
    crate::registry::get().imports().iter().copied().find(|s| s.code() == code)
}

/// The batch pages, and each registered source's import pages under its list's path.
pub fn routes() -> Routes {
    let sources = crate::registry::get().imports();
    let perms: Vec<(Module, Action)> = sources.iter().map(|s| (s.module(), Action::Import)).collect();
    let any: Guard = Guard::AnyOf(Box::leak(perms.into_boxed_slice()));
    let mut routes = Routes::new()
        .get("/imports", any, batches::index)
        .post("/imports/merge", any, batches::merge)
        .get("/imports/{id}", any, batches::show)
        .get("/imports/{id}/errors.xlsx", any, batches::errors)
        .post("/imports/{id}/undo", any, batches::undo);
    for s in sources {
        routes = routes.merge(pages::routes(s));
    }
    routes
}

/// Job: batches left queued or running by an instance that stopped (their advisory lock is free
/// again) are picked up.
pub fn resume_job() -> crate::jobs::Job {
    use futures_util::FutureExt;
    crate::jobs::Job {
        name: "resume_imports",
        concurrent: false,
        every: std::time::Duration::from_secs(15),
        run: |ctx| worker::resume_all(ctx.db, ctx.config).boxed(),
    }
}
