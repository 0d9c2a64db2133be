//! Customers from spreadsheets (`crate::imports`): the columns a file may fill and one row's
//! save — the form's validation (`model::check`, custom fields), the duplicate rules, the owner's
//! caps and `create_customer`, so an import stores nothing the form would refuse.

use futures_util::FutureExt;
use sqlx::PgConnection;

use super::model::{self, DICTS, ENTITY};
use super::{Customers, RECORD, caps, dup, repo};
use crate::access::{Action, Module};
use crate::error::{AppError, AppResult};
use crate::fields;
use crate::imports::{Batch, DupMode, Field, Kind, Outcome, Owner, Row, Source, convert};
use crate::org::users;
use crate::records::sql;
use crate::web::{FormData, FormErrors};

const KINDS: &[(&str, &str)] =
    &[("enterprise", "customer.kind.enterprise"), ("individual", "customer.kind.individual")];
const GENDERS: &[(&str, &str)] = &[("male", "user.gender.male"), ("female", "user.gender.female")];

pub const FIELDS: &[Field] = &[
    Field::required("name", "customer.name", Kind::Text),
    Field::of("kind", "customer.kind", Kind::Choice(KINDS)),
    Field::of("short_name", "customer.short_name", Kind::Text),
    Field::of("phone", "customer.phone", Kind::Phone),
    Field::of("mobile", "customer.mobile", Kind::Phone),
    Field::of("email", "customer.email", Kind::Text),
    Field::of("fax", "customer.fax", Kind::Phone),
    Field::of("website", "customer.website", Kind::Text),
    Field::of("category_id", "customer.category", Kind::Dict("customer_category")),
    Field::of("source_id", "customer.source", Kind::Dict("customer_source")),
    Field::of("industry_id", "customer.industry", Kind::Dict("industry")),
    Field::of("region_id", "customer.region", Kind::Dict("region")),
    Field::of("size_id", "customer.size", Kind::Dict("company_size")),
    Field::of("value_rating_id", "customer.value_rating", Kind::Dict("value_rating")),
    Field::of("credit_level_id", "customer.credit_level", Kind::Dict("credit_level")),
    Field::of("importance_id", "customer.importance", Kind::Dict("importance")),
    Field::of("relationship_id", "customer.relationship", Kind::Dict("relationship_level")),
    Field::of("stage_id", "customer.stage", Kind::Dict("service_stage")),
    Field::of("group_id", "customer.group", Kind::Dict("customer_group")),
    Field::of("credit_limit", "customer.credit_limit", Kind::Number),
    Field::of("addr_detail", "customer.address_detail", Kind::Text),
    Field::of("gender", "customer.gender", Kind::Choice(GENDERS)),
    Field::of("birth_date", "customer.birth_date", Kind::Date),
    Field::of("id_number", "customer.id_number", Kind::Phone),
    Field::of("native_place", "customer.native_place", Kind::Text),
    Field::of("ethnicity", "customer.ethnicity", Kind::Text),
    Field::of("description", "customer.description", Kind::Text),
];

pub static SOURCE: Source = Source {
    def: &RECORD,
    fields: FIELDS,
    dicts: DICTS,
    may_update: true,
    may_create_anyway: true,
    chooses_owner: true,
    pool_owner: true,
    write: |tx, batch, row| write(tx, batch, row).boxed(),
    write_chunk: Some(|tx, batch, rows| write_chunk(tx, batch, rows).boxed()),
    bin: crate::records::bin::bin_ids::<Customers>,
};

/// The row as its form would check it, as a new customer of the row's owner.
fn checked(b: &Batch, row: &Row<'_>) -> Result<model::CustomerInput, FormErrors> {
    let mut errors = FormErrors::new(b.lang);
    let form = row.form;
    let mut input = model::check(form, &b.dicts, None, b.lang, &mut errors);
    input.custom = fields::parse(&b.defs, form.pairs(), None, b.st.config.timezone, &b.active_users, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    input.status_id = None;
    input.level = 1;
    input.parent_id = None;
    input.owner_id = match row.owner {
        Owner::User(u) => Some(u),
        Owner::Pool => None,
    };
    Ok(input)
}

fn candidate(input: &model::CustomerInput) -> dup::Candidate<'_> {
    dup::Candidate {
        exclude_id: None,
        name: &input.name,
        phone: input.text("phone"),
        mobile: input.text("mobile"),
        email: input.text("email"),
        owner_id: input.owner_id,
    }
}

/// The duplicate rules, read once per batch.
async fn rules_of(tx: &mut PgConnection, b: &Batch) -> AppResult<std::sync::Arc<Vec<dup::Rule>>> {
    Ok(match b.memo::<Vec<dup::Rule>>("dup_rules") {
        Some(r) => r,
        None => b.keep("dup_rules", dup::rules(tx).await?),
    })
}

async fn write(tx: &mut PgConnection, b: &Batch, row: Row<'_>) -> AppResult<Outcome> {
    let lang = b.lang;
    let form = row.form;
    let input = match checked(b, &row) {
        Ok(input) => input,
        Err(errors) => return Ok(Outcome::Invalid(errors)),
    };
    let mut errors = FormErrors::new(lang);
    let rules = rules_of(tx, b).await?;
    let hits = dup::find_with(tx, &rules, &candidate(&input), &b.scope).await?;
    if let Some(first) = hits.first() {
        match b.dup {
            DupMode::Skip => return Ok(Outcome::Skipped(first.message(lang))),
            DupMode::Update => return update(tx, b, form, first.customer_id).await,
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
    if let Some(owner) = input.owner_id {
        let cap = cap_of(tx, b, owner).await?;
        if let Err(over) = caps::check_owned_under(tx, owner, 1, cap.as_ref()).await? {
            let name = users::name_of(tx, Some(owner)).await?.unwrap_or_default();
            return Ok(Outcome::Failed(over.message(lang, &name, false)));
        }
    }
    let made = super::create_customer(tx, &input, b.user.id, &b.dicts, b.st.config.timezone).await?;
    if row.owner == Owner::Pool {
        crate::modules::pool::take_in(tx, made.id, "import").await?;
    }
    Ok(Outcome::Created(made.id))
}

/// `write` for a chunk, with a statement per step for all its rows: the duplicate probes, each
/// owner's cap, the numbers, the insert. Rows it cannot settle set-wise are left to `write`: a
/// duplicate to update, a row sharing a compared value with an earlier row of the chunk (so it
/// meets that row as a duplicate, as it would one by one), a value for a unique custom field.
async fn write_chunk(tx: &mut PgConnection, b: &Batch, rows: &[Row<'_>]) -> AppResult<Vec<Option<Outcome>>> {
    let lang = b.lang;
    let mut out: Vec<Option<Outcome>> = Vec::with_capacity(rows.len());
    let mut inputs = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match checked(b, row) {
            Ok(input) => {
                out.push(None);
                inputs.push((i, input));
            }
            Err(errors) => out.push(Some(Outcome::Invalid(errors))),
        }
    }
    let rules = rules_of(tx, b).await?;
    let candidates: Vec<_> = inputs.iter().map(|(_, input)| candidate(input)).collect();
    let hits = dup::find_many(tx, &rules, &candidates, &b.scope).await?;
    let mut seen = std::collections::HashSet::new();
    let mut create: Vec<(usize, &model::CustomerInput)> = Vec::new();
    for (((i, input), candidate), hits) in inputs.iter().zip(&candidates).zip(hits) {
        let keys = dup::keys(&rules, candidate);
        let clashes = keys.iter().any(|k| seen.contains(k));
        seen.extend(keys);
        if clashes || fields::has_unique_value(&b.defs, &input.custom) {
            continue;
        }
        if let Some(first) = hits.first() {
            match b.dup {
                DupMode::Skip => out[*i] = Some(Outcome::Skipped(first.message(lang))),
                DupMode::Update => {}
                DupMode::Create => match hits.iter().find(|h| h.blocks()) {
                    Some(block) => out[*i] = Some(Outcome::Skipped(block.message(lang))),
                    None => create.push((*i, input)),
                },
            }
            continue;
        }
        create.push((*i, input));
    }
    let create = within_caps(tx, b, create, &mut out).await?;
    let status =
        b.dicts.first("customer_status").map(|s| s.id).ok_or(AppError::Conflict("customer.error.no_status"))?;
    let codes =
        crate::numbering::next_batch(tx, "customer", create.len() as i64, chrono::Utc::now(), b.st.config.timezone)
            .await?;
    let rows: Vec<_> = create
        .iter()
        .zip(codes)
        .map(|((_, input), code)| (*input, code, input.owner_id.unwrap_or(b.user.id)))
        .collect();
    let ids = repo::insert_many(tx, &rows, status, (b.user.id, b.id)).await?;
    let addresses: Vec<(i64, &[model::Address])> =
        ids.iter().zip(&create).map(|(id, (_, input))| (*id, input.addresses.as_slice())).collect();
    repo::insert_addresses(tx, &addresses).await?;
    let pooled: Vec<i64> =
        ids.iter().zip(&create).filter(|(_, (_, input))| input.owner_id.is_none()).map(|(id, _)| *id).collect();
    if !pooled.is_empty() {
        crate::modules::pool::take_in_many(tx, &pooled, "import").await?;
    }
    for (id, (i, _)) in ids.into_iter().zip(&create) {
        out[*i] = Some(Outcome::Created(id));
    }
    Ok(out)
}

/// The rows each owner's cap leaves room for, in file order; the rest fail with the cap's
/// message (as they would one by one: each counts the customers before it).
async fn within_caps<'i>(
    tx: &mut PgConnection,
    b: &Batch,
    create: Vec<(usize, &'i model::CustomerInput)>,
    out: &mut [Option<Outcome>],
) -> AppResult<Vec<(usize, &'i model::CustomerInput)>> {
    let mut per_owner: std::collections::BTreeMap<i64, i64> = Default::default();
    for (_, input) in &create {
        if let Some(owner) = input.owner_id {
            *per_owner.entry(owner).or_default() += 1;
        }
    }
    // Owner → (room left, the cap's limit): only owners short of room for all their rows.
    let mut short = std::collections::HashMap::new();
    for (owner, adding) in per_owner {
        let cap = cap_of(tx, b, owner).await?;
        if let Err(over) = caps::check_owned_under(tx, owner, adding, cap.as_ref()).await? {
            let name = users::name_of(tx, Some(owner)).await?.unwrap_or_default();
            short.insert(owner, ((over.limit - over.current).max(0), over.limit, name));
        }
    }
    let mut kept = Vec::with_capacity(create.len());
    for (i, input) in create {
        match input.owner_id.and_then(|o| short.get_mut(&o)) {
            Some((room, limit, name)) if *room == 0 => {
                let over = caps::CapExceeded { limit: *limit, current: *limit };
                out[i] = Some(Outcome::Failed(over.message(b.lang, name, false)));
            }
            Some((room, _, _)) => {
                *room -= 1;
                kept.push((i, input));
            }
            None => kept.push((i, input)),
        }
    }
    Ok(kept)
}

/// An owner's cap, read once per batch.
async fn cap_of(tx: &mut PgConnection, b: &Batch, owner: i64) -> AppResult<Option<caps::Cap>> {
    type Caps = std::collections::HashMap<i64, Option<caps::Cap>>;
    let known = b.memo::<std::sync::Mutex<Caps>>("caps").unwrap_or_else(|| b.keep("caps", Default::default()));
    if let Some(cap) = known.lock().unwrap_or_else(|e| e.into_inner()).get(&owner) {
        return Ok(cap.clone());
    }
    let cap = caps::effective(tx, owner).await?;
    known.lock().unwrap_or_else(|e| e.into_inner()).insert(owner, cap.clone());
    Ok(cap)
}

/// A duplicate in update mode: the existing customer with the file's non-empty values laid
/// over it, checked as its edit form would check it. One the importer may not change is a
/// failed row.
async fn update(tx: &mut PgConnection, b: &Batch, row: &FormData, id: i64) -> AppResult<Outcome> {
    // Read through the batch's transaction: the duplicate may be a row of this very chunk.
    let not_allowed = || Ok(Outcome::Failed(b.lang.t("import.error.not_allowed").to_string()));
    if !b.user.can(Module::Customers, Action::Edit) {
        return not_allowed();
    }
    sql::check_writable(&mut *tx, &RECORD, &b.scope, id).await?;
    repo::lock(tx, id).await?;
    let Some(cur) = repo::find_visible(&mut *tx, &b.scope, id, false).await? else { return not_allowed() };
    let addresses = repo::addresses(&mut *tx, id).await?;
    let mut form = cur.to_form(&addresses);
    overlay(&mut form, row);
    let mut errors = FormErrors::new(b.lang);
    let mut input = model::check(&form, &b.dicts, Some(&cur), b.lang, &mut errors);
    input.custom =
        fields::parse(&b.defs, form.pairs(), Some(&cur.custom), b.st.config.timezone, &b.active_users, &mut errors);
    fields::keep_hidden(&b.defs, &cur.custom, &mut input.custom);
    fields::check_unique(tx, ENTITY, &b.defs, &input.custom, Some(id), &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    input.status_id = None;
    input.level = cur.level;
    input.owner_id = cur.owner_id;
    repo::update(tx, id, &input).await?;
    if row.has("addr_detail") {
        repo::replace_addresses(tx, id, &input.addresses).await?;
    }
    Ok(Outcome::Updated(id))
}

/// Lay the row's values over the stored customer's form (`convert::overlay`); one address
/// column replaces the stored addresses.
fn overlay(form: &mut FormData, row: &FormData) {
    if row.has("addr_detail") {
        for k in ["addr_type", "addr_region", "addr_detail", "addr_postcode"] {
            form.remove(k);
        }
    }
    convert::overlay(form, row);
}
