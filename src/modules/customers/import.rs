//! Customers from spreadsheets (`crate::imports`): the columns a file may fill and one row's
//! save — the form's validation (`model::check`, custom fields), the duplicate rules, the owner's
//! caps and `create_customer`, so an import stores nothing the form would refuse.

use futures_util::FutureExt;
use sqlx::PgConnection;

use super::model::{self, DICTS, ENTITY};
use super::{Customers, RECORD, caps, dup, repo};
use crate::access::{Action, Module};
use crate::error::AppResult;
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
    bin: crate::records::bin::bin_ids::<Customers>,
};

async fn write(tx: &mut PgConnection, b: &Batch, row: Row<'_>) -> AppResult<Outcome> {
    let lang = b.lang;
    let mut errors = FormErrors::new(lang);
    let form = row.form;
    let mut input = model::check(form, &b.dicts, None, lang, &mut errors);
    input.custom = fields::parse(&b.defs, form.pairs(), None, b.st.config.timezone, &b.active_users, &mut errors);
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    input.status_id = None;
    input.level = 1;
    input.parent_id = None;
    input.owner_id = match row.owner {
        Owner::User(u) => Some(u),
        Owner::Pool => None,
    };
    let candidate = dup::Candidate {
        exclude_id: None,
        name: &input.name,
        phone: input.text("phone"),
        mobile: input.text("mobile"),
        email: input.text("email"),
        owner_id: input.owner_id,
    };
    let rules = match b.memo::<Vec<dup::Rule>>("dup_rules") {
        Some(r) => r,
        None => b.keep("dup_rules", dup::rules(tx).await?),
    };
    let hits = dup::find_with(tx, &rules, &candidate, &b.scope).await?;
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
