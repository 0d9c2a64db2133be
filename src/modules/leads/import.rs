//! Leads from spreadsheets (`crate::imports`): the columns a file may fill and one row's save —
//! the form's validation (`model::check`, custom fields) and the form's insert and update, so an
//! import stores nothing the form would refuse.
//!
//! Duplicates: a live lead (converted ones too) with the same company / name or the same mobile
//! number, anyone's, then the lead duplicate rules (`customers::dup`, kind `DUPLICATES`) as the
//! form applies them. New leads get the owner
//! the import's rule deals (never the public pool, which holds customers only).

use futures_util::FutureExt;
use sqlx::PgConnection;

use super::model::{self, DICTS, ENTITY};
use super::{Leads, RECORD, repo};
use crate::access::{Action, Module};
use crate::error::{AppError, AppResult};
use crate::fields;
use crate::imports::{Batch, DupMode, Field, Kind, Outcome, Owner, Row, Source, convert};
use crate::modules::customers::dup;
use crate::records::sql;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors};

/// The form's level choice, L1–L7.
const LEVELS: &[(&str, &str)] = &[
    ("1", "lead.level.1"),
    ("2", "lead.level.2"),
    ("3", "lead.level.3"),
    ("4", "lead.level.4"),
    ("5", "lead.level.5"),
    ("6", "lead.level.6"),
    ("7", "lead.level.7"),
];

pub const FIELDS: &[Field] = &[
    Field::required("name", "lead.name", Kind::Text),
    Field::of("contact_name", "lead.contact_name", Kind::Text),
    Field::of("level", "lead.level", Kind::Choice(LEVELS)),
    Field::of("source_id", "lead.source", Kind::Dict("lead_source")),
    Field::of("industry_id", "lead.industry", Kind::Dict("industry")),
    Field::of("region_id", "lead.region", Kind::Dict("region")),
    Field::of("phone", "lead.phone", Kind::Phone),
    Field::of("mobile", "lead.mobile", Kind::Phone),
    Field::of("email", "lead.email", Kind::Text),
    Field::of("next_contact_at", "lead.next_contact", Kind::DateTime),
    Field::of("address", "lead.address", Kind::Text),
    Field::of("notes", "lead.notes", Kind::Text),
];

pub static SOURCE: Source = Source {
    def: &RECORD,
    fields: FIELDS,
    dicts: DICTS,
    may_update: true,
    may_create_anyway: true,
    chooses_owner: true,
    pool_owner: false,
    write: |tx, batch, row| write(tx, batch, row).boxed(),
    write_chunk: None,
    bin: crate::records::bin::bin_ids::<Leads>,
};

async fn write(tx: &mut PgConnection, b: &Batch, row: Row<'_>) -> AppResult<Outcome> {
    let (lang, tz) = (b.lang, b.st.config.timezone);
    let form = row.form;
    let mut errors = FormErrors::new(lang);
    let mut input = model::check(form, &b.dicts, None, tz, &mut errors);
    input.custom = fields::parse(&b.defs, form.pairs(), None, tz, &b.active_users, &mut errors);
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    let owner = match row.owner {
        Owner::User(u) => u,
        Owner::Pool => b.user.id,
    };
    input.owner_id = Some(owner);
    if let Some((id, reason)) = duplicate(tx, &input.name, input.text("mobile"), lang).await? {
        match b.dup {
            DupMode::Skip => return Ok(Outcome::Skipped(reason)),
            DupMode::Update => return update(tx, b, form, id).await,
            DupMode::Create => {}
        }
    }
    // The lead duplicate rules, as the form applies them (read once per batch).
    let rules = match b.memo::<Vec<dup::Rule>>("dup_rules") {
        Some(r) => r,
        None => b.keep("dup_rules", dup::rules_of(tx, &super::DUPLICATES).await?),
    };
    let candidate = dup::Candidate {
        exclude_id: None,
        name: &input.name,
        phone: input.text("phone"),
        mobile: input.text("mobile"),
        email: input.text("email"),
        owner_id: Some(owner),
    };
    let hits = dup::find_with(tx, &rules, &candidate, &b.scope).await?;
    if let Some(first) = hits.first() {
        match b.dup {
            DupMode::Skip => return Ok(Outcome::Skipped(first.message(lang))),
            DupMode::Update => return update(tx, b, form, first.record_id()).await,
            DupMode::Create => {
                if let Some(block) = hits.iter().find(|h| h.blocks()) {
                    return Ok(Outcome::Skipped(block.message(lang)));
                }
            }
        }
    }
    fields::check_unique(tx, ENTITY, &b.defs, &input.custom, None, &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    let id = repo::insert(tx, &input, owner, b.user.id).await?;
    Ok(Outcome::Created(id))
}

/// A live lead with the same name or mobile number, read in the batch's transaction (rows
/// written before in the file count): its id and why it is a duplicate.
async fn duplicate(
    tx: &mut PgConnection,
    name: &str,
    mobile: Option<&str>,
    lang: Lang,
) -> AppResult<Option<(i64, String)>> {
    let owner = |o: Option<String>| o.unwrap_or_else(|| lang.t("common.none").to_string());
    if let Some((id, o)) = repo::same_name(tx, name).await? {
        return Ok(Some((id, lang.tf("lead.import.dup_name", &[("owner", &owner(o))]))));
    }
    if let Some(m) = mobile
        && let Some((id, o)) = repo::same_mobile(tx, m).await?
    {
        return Ok(Some((id, lang.tf("lead.import.dup_mobile", &[("owner", &owner(o))]))));
    }
    Ok(None)
}

/// A duplicate in update mode: the stored lead with the file's non-empty values laid over it,
/// checked and saved as its edit form would; it keeps its owner. One the importer may not
/// change (out of their scope, converted) is a failed row.
async fn update(tx: &mut PgConnection, b: &Batch, row: &FormData, id: i64) -> AppResult<Outcome> {
    if !b.user.can(Module::Leads, Action::Edit) {
        return Err(AppError::Forbidden);
    }
    // In the batch's transaction: the duplicate may be a lead an earlier row created.
    sql::check_writable(&mut *tx, &RECORD, &b.scope, id).await?;
    if repo::lock(tx, id).await? != Some(false) {
        return Err(AppError::Conflict("lead.error.converted"));
    }
    let cur = repo::get(tx, id).await?;
    let tz = b.st.config.timezone;
    let mut form = cur.to_form(tz);
    convert::overlay(&mut form, row);
    let mut errors = FormErrors::new(b.lang);
    let mut input = model::check(&form, &b.dicts, Some(&cur), tz, &mut errors);
    input.custom = fields::parse(&b.defs, form.pairs(), Some(&cur.custom), tz, &b.active_users, &mut errors);
    fields::keep_hidden(&b.defs, &cur.custom, &mut input.custom);
    input.owner_id = cur.owner_id;
    fields::check_unique(tx, ENTITY, &b.defs, &input.custom, Some(id), &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    repo::update(tx, id, &input).await?;
    Ok(Outcome::Updated(id))
}
