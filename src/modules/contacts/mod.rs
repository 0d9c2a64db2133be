//! Contacts (联系人): people at a customer. Several per customer, one primary; they follow their
//! customer's owner unless transferred on their own, and are visible through their owner, their
//! own team and shares, or their customer's team and shares.
//!
//! For the customer's Contacts tab: `for_customer` and the macro in
//! `templates/contacts/_for_customer.html`.

mod actions;
mod form;
pub mod list;
pub mod model;
pub mod repo;
mod show;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::list::Column;
use crate::list::prefs::{self, ListModule};
use crate::state::AppState;
use crate::timeline::{self, Host};
use crate::web::i18n::Lang;

pub use model::ContactRow;

const VIEW: Guard = Guard::Perm(Module::Contacts, Action::View);
const CREATE: Guard = Guard::Perm(Module::Contacts, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Contacts, Action::Edit);
const DELETE: Guard = Guard::Perm(Module::Contacts, Action::Delete);
const PURGE: Guard = Guard::Perm(Module::Contacts, Action::Purge);
const TRANSFER: Guard = Guard::Perm(Module::Contacts, Action::Transfer);

pub fn routes() -> Routes {
    Routes::new()
        .get("/contacts", VIEW, list::index)
        .get("/contacts/new", CREATE, form::new)
        .post("/contacts", CREATE, form::create)
        .get("/contacts/recycle", VIEW, actions::recycle)
        .post("/contacts/recycle/restore", DELETE, actions::restore)
        .post("/contacts/recycle/purge", PURGE, actions::purge)
        .post("/contacts/bulk/delete", DELETE, actions::bulk_delete)
        .post("/contacts/bulk/transfer", TRANSFER, actions::bulk_transfer)
        .get("/contacts/{id}", VIEW, show::show)
        .get("/contacts/{id}/edit", EDIT, form::edit)
        .post("/contacts/{id}", EDIT, form::update)
        .post("/contacts/{id}/primary", EDIT, actions::set_primary)
        .post("/contacts/{id}/transfer", TRANSFER, actions::transfer_one)
        .post("/contacts/{id}/delete", DELETE, actions::delete_one)
        .merge(prefs::routes::<Contacts>())
        .merge(crate::records::stars::routes::<Contacts>())
        .merge(timeline::routes::<ContactTimeline>())
        .merge(crate::attachments::routes::<ContactAttachments>())
}

/// Live contacts of one customer, primary first, for the customer's Contacts tab (the caller
/// has checked the customer is visible).
pub async fn for_customer(db: &sqlx::PgPool, customer_id: i64) -> sqlx::Result<Vec<ContactRow>> {
    repo::for_customer(db, customer_id).await
}

/// The contact list's plug into the shared scene and column pages.
pub struct Contacts;

impl ListModule for Contacts {
    const MODULE: &'static str = model::MODULE;
    const PATH: &'static str = "/contacts";
    const PERM: Module = Module::Contacts;
    const TITLE: &'static str = "nav.contacts";

    async fn columns(st: &AppState, lang: Lang) -> AppResult<Vec<Column>> {
        let defs = crate::fields::defs(&st.db, model::ENTITY).await?;
        Ok(list::available_columns(&defs, lang))
    }
}

impl crate::records::stars::Starrable for Contacts {
    const ENTITY: &'static str = model::ENTITY;
    const KEY: &'static str = "contact";

    async fn can_view(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<bool> {
        let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
        Ok(repo::find_visible(&st.db, &scope, id, false).await?.is_some())
    }

    async fn selected(st: &AppState, user: &CurrentUser, sel: &crate::list::Selection) -> AppResult<Vec<i64>> {
        let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
        actions::selected(st, user, &scope, sel).await
    }
}

/// Follow-ups on a contact (POST /contacts/{id}/followups): they also count for its customer.
pub struct ContactTimeline;

impl Host for ContactTimeline {
    const ENTITY: &'static str = model::ENTITY;
    const PATH: &'static str = "/contacts";
    const GUARD: Guard = EDIT;

    async fn check_writable(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
        let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
        let c = repo::find_visible(&st.db, &scope, id, false).await?;
        let writable = match &c {
            Some(c) => repo::can_write(&st.db, &scope, c).await?,
            None => false,
        };
        timeline::require(c.is_some(), writable)?;
        if c.is_some_and(|c| c.customer_frozen) {
            return Err(AppError::Conflict("contact.error.frozen"));
        }
        Ok(())
    }

    async fn describe(st: &AppState, id: i64) -> AppResult<(String, Option<i64>)> {
        let row: (String, i64) = sqlx::query_as("SELECT name, customer_id FROM contacts WHERE id = $1")
            .bind(id)
            .fetch_optional(&st.db)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok((row.0, Some(row.1)))
    }
}

/// Contacts hold attachments: seen with the contact, changed by those who may change it.
pub struct ContactAttachments;

impl crate::attachments::Host for ContactAttachments {
    const ENTITY: &'static str = model::ENTITY;
    const PATH: &'static str = "/contacts";
    const VIEW: Guard = VIEW;
    const EDIT: Guard = EDIT;

    async fn can_view(st: &AppState, user: &crate::auth::CurrentUser, id: i64) -> AppResult<bool> {
        let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
        Ok(repo::find_visible(&st.db, &scope, id, false).await?.is_some())
    }

    async fn writable(st: &AppState, user: &crate::auth::CurrentUser, id: i64) -> AppResult<()> {
        let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
        form::writable(st, &scope, id).await.map(|_| ())
    }
}
