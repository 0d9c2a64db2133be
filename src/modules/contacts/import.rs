//! Contacts from spreadsheets (`crate::imports`): the columns a file may fill and one row's save
//! — the form's validation (`model::check`, custom fields), its customer (named by name or code,
//! one the importer may add contacts to), and the form's create and edit paths, so an import
//! stores nothing the form would refuse.
//!
//! Duplicates: a contact of the same customer with the same mobile number (without one, the same
//! name), then the contact duplicate rules (`customers::dup`, kind `DUPLICATES`) as the form
//! applies them. New contacts belong to their
//! customer's owner, as on the form (which offers no owner): the import's owner rule does not
//! apply to them.

use futures_util::FutureExt;
use sqlx::PgConnection;

use super::model::{self, DICTS, ENTITY};
use super::{Contacts, RECORD, form, repo};
use crate::access::{Action, DataScope, Module};
use crate::error::{AppError, AppResult};
use crate::fields;
use crate::imports::{Batch, DupMode, Field, Kind, Outcome, Row, Source, convert};
use crate::modules::customers::dup;
use crate::records::{normalize, sql};
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors};

const GENDERS: &[(&str, &str)] = &[("male", "user.gender.male"), ("female", "user.gender.female")];
const YES_NO: &[(&str, &str)] = &[("1", "common.yes"), ("0", "common.no")];

pub const FIELDS: &[Field] = &[
    Field::required("name", "contact.name", Kind::Text),
    // The form's customer picker: a customer's name or code.
    Field::required("customer_q", "contact.customer", Kind::Text),
    Field::of("salutation_id", "contact.salutation", Kind::Dict("salutation")),
    Field::of("gender", "contact.gender", Kind::Choice(GENDERS)),
    Field::of("position", "contact.position", Kind::Text),
    Field::of("department", "contact.department", Kind::Text),
    Field::of("phone", "contact.phone", Kind::Phone),
    Field::of("mobile", "contact.mobile", Kind::Phone),
    Field::of("email", "contact.email", Kind::Text),
    Field::of("wechat", "contact.wechat", Kind::Phone),
    Field::of("address", "contact.address", Kind::Text),
    Field::of("birthday", "contact.birthday", Kind::Date),
    Field::of("decision_maker", "contact.decision_maker", Kind::Choice(YES_NO)),
    Field::of("make_primary", "contact.make_primary", Kind::Choice(YES_NO)),
    Field::of("notes", "contact.notes", Kind::Text),
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
    bin: crate::records::bin::bin_ids::<Contacts>,
};

async fn write(tx: &mut PgConnection, b: &Batch, row: Row<'_>) -> AppResult<Outcome> {
    let lang = b.lang;
    let form = row.form;
    let mut errors = FormErrors::new(lang);
    let mut input = model::check(form, &b.dicts, None, &mut errors);
    input.custom = fields::parse(&b.defs, form.pairs(), None, b.st.config.timezone, &b.active_users, &mut errors);
    // The customer among those the importer may add contacts to, as the form picks it.
    let customer_scope = match b.memo::<DataScope>("customer_scope") {
        Some(s) => s,
        None => b.keep("customer_scope", DataScope::resolve(&b.st.db, &b.user, Module::Customers).await?),
    };
    let customer = match form::picked_customer(&b.st.db, &customer_scope, form).await? {
        Ok(c) => Some(c),
        Err(key) => {
            customer_error(&mut errors, key, form.get("customer_q").trim(), lang);
            None
        }
    };
    let Some(customer) = customer.filter(|_| errors.is_empty()) else { return Ok(Outcome::Invalid(errors)) };
    input.customer_id = Some(customer.id);

    if let Some((id, reason)) = duplicate(tx, customer.id, &input.name, input.text("mobile"), lang).await? {
        match b.dup {
            DupMode::Skip => return Ok(Outcome::Skipped(reason)),
            DupMode::Update => return update(tx, b, form, id).await,
            DupMode::Create => {}
        }
    }
    // The contact duplicate rules, as the form applies them (read once per batch).
    let rules = match b.memo::<Vec<dup::Rule>>("dup_rules") {
        Some(r) => r,
        None => b.keep("dup_rules", dup::rules_of(tx, &super::DUPLICATES).await?),
    };
    let candidate = dup::Candidate {
        exclude_id: None,
        name: "",
        phone: input.text("phone"),
        mobile: input.text("mobile"),
        email: input.text("email"),
        owner_id: customer.owner_id,
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
    let id = form::create_contact(tx, &input, customer.id, customer.owner_id, b.user.id).await?;
    Ok(Outcome::Created(id))
}

/// The customer column's error: one the importer cannot see is named with the value typed.
fn customer_error(errors: &mut FormErrors, key: &'static str, typed: &str, lang: Lang) {
    match key {
        form::CUSTOMER_UNKNOWN => {
            errors.add_text("customer_q", lang.tf("contact.import.customer_unknown", &[("value", typed)]))
        }
        "form.required" => errors.add("customer_q", key),
        _ => errors.add_text(
            "customer_q",
            lang.tf("contact.import.customer_refused", &[("value", typed), ("reason", lang.t(key))]),
        ),
    }
}

/// A live contact of the customer with the same mobile number (without one, the same name),
/// read in the batch's transaction (rows written before in the file count): its id and why it
/// is a duplicate.
async fn duplicate(
    tx: &mut PgConnection,
    customer_id: i64,
    name: &str,
    mobile: Option<&str>,
    lang: Lang,
) -> AppResult<Option<(i64, String)>> {
    let existing = repo::names_of_customer(tx, customer_id).await?;
    let hit = match mobile {
        Some(m) => {
            let m = normalize::phone(m);
            existing
                .into_iter()
                .find(|(_, _, em)| em.as_deref().map(normalize::phone).as_ref() == Some(&m))
                .map(|(id, n, _)| (id, lang.tf("contact.import.dup_mobile", &[("name", n.as_str())])))
        }
        None => {
            let n = normalize::name(name);
            existing
                .into_iter()
                .find(|(_, en, _)| normalize::name(en) == n)
                .map(|(id, n, _)| (id, lang.tf("contact.import.dup_name", &[("name", n.as_str())])))
        }
    };
    Ok(hit)
}

/// A duplicate in update mode: the stored contact with the file's non-empty values laid over
/// it, checked and saved as its edit form would. Its customer stays (the duplicate is of the
/// same customer). One the importer may not change is a failed row.
async fn update(tx: &mut PgConnection, b: &Batch, row: &FormData, id: i64) -> AppResult<Outcome> {
    if !b.user.can(Module::Contacts, Action::Edit) {
        return Err(AppError::Forbidden);
    }
    // In the batch's transaction: the duplicate may be a contact an earlier row created.
    sql::check_writable(&mut *tx, &RECORD, &b.scope, id).await?;
    repo::lock(tx, id).await?;
    let cur = repo::find_visible(&mut *tx, &b.scope, id, false).await?.ok_or(AppError::NotFound)?;
    let mut form = cur.to_form();
    let mut values = row.clone();
    values.remove("customer_q");
    convert::overlay(&mut form, &values);
    let mut errors = FormErrors::new(b.lang);
    let mut input = model::check(&form, &b.dicts, Some(&cur), &mut errors);
    let tz = b.st.config.timezone;
    input.custom = fields::parse(&b.defs, form.pairs(), Some(&cur.custom), tz, &b.active_users, &mut errors);
    fields::keep_hidden(&b.defs, &cur.custom, &mut input.custom);
    input.customer_id = Some(cur.customer_id);
    fields::check_unique(tx, ENTITY, &b.defs, &input.custom, Some(id), &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Outcome::Invalid(errors));
    }
    let (_, entries) = form::save_contact(tx, &cur, &input, cur.customer_id, cur.customer_owner_id).await?;
    // The customer's previous primary contact, if this one took its place, has its own history.
    for e in entries {
        e.write(tx, Some(b.user.id), None).await?;
    }
    Ok(Outcome::Updated(id))
}
