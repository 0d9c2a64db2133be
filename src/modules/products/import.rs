//! Products from spreadsheets (`crate::imports`): the columns a file may fill and one row's save
//! — the form's validation (`model::check`, custom fields, the shelf and cost permissions) and
//! the form's save (`form::store`: code or numbering, price history), so an import stores
//! nothing the form would refuse.
//!
//! The duplicate of a row is the live product with its code or, for a row without a code, with
//! its name. Products have no owner: the import's owner rule does not apply.

use futures_util::FutureExt;
use sqlx::PgConnection;

use super::model::{self, DICTS, ENTITY};
use super::{Products, RECORD, form, repo};
use crate::access::{Action, Module};
use crate::error::{AppError, AppResult};
use crate::fields;
use crate::imports::{Batch, DupMode, Field, Kind, Outcome, Row, Source, convert};
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors};

const SHELF: &[(&str, &str)] = &[("1", "product.on_shelf"), ("0", "product.off_shelf")];

pub const FIELDS: &[Field] = &[
    Field::required("name", "product.name", Kind::Text),
    Field::of("code", "product.code", Kind::Phone),
    Field::of("category_id", "product.category", Kind::Dict("product_category")),
    Field::of("unit_id", "product.unit", Kind::Dict("product_unit")),
    Field::required("price", "product.price", Kind::Number),
    Field::of("cost_price", "product.cost_price", Kind::Number),
    Field::of("spec", "product.spec", Kind::Text),
    Field::of("on_shelf", "product.shelf", Kind::Choice(SHELF)),
    Field::of("description", "product.description", Kind::Text),
];

pub static SOURCE: Source = Source {
    def: &RECORD,
    fields: FIELDS,
    dicts: DICTS,
    may_update: true,
    may_create_anyway: true,
    chooses_owner: false,
    pool_owner: false,
    write: |tx, batch, row| write(tx, batch, row).boxed(),
    write_chunk: None,
    bin: crate::records::bin::bin_ids::<Products>,
};

async fn write(tx: &mut PgConnection, b: &Batch, row: Row<'_>) -> AppResult<Outcome> {
    let (lang, tz) = (b.lang, b.st.config.timezone);
    // A new product is on the shelf unless the file says otherwise, as the form starts.
    let mut form = row.form.clone();
    if !form.has("on_shelf") {
        form.set("on_shelf", "1");
    }
    let mut errors = FormErrors::new(lang);
    let mut input = model::check(&form, &b.dicts, None, b.user.can(Module::Products, Action::Cost), &mut errors);
    input.custom = fields::parse(&b.defs, form.pairs(), None, tz, &b.active_users, &mut errors);
    form::keep_shelf(&b.user, None, &mut input);
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    if let Some(dup) = duplicate(tx, input.code.as_deref(), &input.name, lang).await? {
        match (b.dup, dup.by_code) {
            (DupMode::Skip, _) => return Ok(Outcome::Skipped(dup.reason)),
            (DupMode::Update, _) => return update(tx, b, row.form, dup.id).await,
            // A code is unique: a second product cannot have it.
            (DupMode::Create, true) => return Ok(Outcome::Skipped(dup.reason)),
            (DupMode::Create, false) => {}
        }
    }
    fields::check_unique(tx, ENTITY, &b.defs, &input.custom, None, &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    match form::store(tx, None, &input, b.user.id, tz).await? {
        Ok((id, _)) => Ok(Outcome::Created(id)),
        Err(()) => Ok(code_taken(errors)),
    }
}

struct Duplicate {
    id: i64,
    by_code: bool,
    reason: String,
}

/// The live product with the row's code, or without a code with its name, read in the batch's
/// transaction (rows written before in the file count).
async fn duplicate(tx: &mut PgConnection, code: Option<&str>, name: &str, lang: Lang) -> AppResult<Option<Duplicate>> {
    Ok(match code {
        Some(code) => repo::by_code(tx, code).await?.map(|(id, name)| Duplicate {
            id,
            by_code: true,
            reason: lang.tf("product.import.dup_code", &[("code", code), ("name", &name)]),
        }),
        None => repo::by_name(tx, name).await?.map(|(id, code)| Duplicate {
            id,
            by_code: false,
            reason: lang.tf("product.import.dup_name", &[("code", &code)]),
        }),
    })
}

/// The code is taken (by a product in the recycle bin): an error on the code column.
fn code_taken(mut errors: FormErrors) -> Outcome {
    errors.add("code", "product.error.code_taken");
    Outcome::Invalid(errors)
}

/// A duplicate in update mode: the stored product with the file's non-empty values laid over
/// it, checked and saved as its edit form would (the `edit` right is needed).
async fn update(tx: &mut PgConnection, b: &Batch, row: &FormData, id: i64) -> AppResult<Outcome> {
    if !b.user.can(Module::Products, Action::Edit) {
        return Err(AppError::Forbidden);
    }
    if !repo::lock(tx, id).await? {
        return Err(AppError::NotFound);
    }
    // In the batch's transaction: the duplicate may be a product an earlier row created.
    let cur = repo::find(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    let tz = b.st.config.timezone;
    let mut form = cur.to_form();
    convert::overlay(&mut form, row);
    let mut errors = FormErrors::new(b.lang);
    let mut input = model::check(&form, &b.dicts, Some(&cur), b.user.can(Module::Products, Action::Cost), &mut errors);
    input.custom = fields::parse(&b.defs, form.pairs(), Some(&cur.custom), tz, &b.active_users, &mut errors);
    fields::keep_hidden(&b.defs, &cur.custom, &mut input.custom);
    form::keep_shelf(&b.user, Some(&cur), &mut input);
    fields::check_unique(tx, ENTITY, &b.defs, &input.custom, Some(id), &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    match form::store(tx, Some(&cur), &input, b.user.id, tz).await? {
        Ok(_) => Ok(Outcome::Updated(id)),
        Err(()) => Ok(code_taken(errors)),
    }
}
