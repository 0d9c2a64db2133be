//! Leads (线索): prospects with contact details, source, industry, level, region, custom fields and
//! an owner; the list, detail with timeline / attachments / history, create, edit, recycle bin,
//! transfer, and conversion into customers (`convert`, single and bulk). Converted leads are
//! read-only and linked both ways with their customer.

mod actions;
pub mod convert;
mod form;
pub mod list;
pub mod model;
pub mod repo;
mod show;
mod transfer;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::list::Column;
use crate::list::prefs::{self, ListModule};
use crate::state::AppState;
use crate::web::i18n::Lang;

const VIEW: Guard = Guard::Perm(Module::Leads, Action::View);
const CREATE: Guard = Guard::Perm(Module::Leads, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Leads, Action::Edit);
const DELETE: Guard = Guard::Perm(Module::Leads, Action::Delete);
const PURGE: Guard = Guard::Perm(Module::Leads, Action::Purge);
const TRANSFER: Guard = Guard::Perm(Module::Leads, Action::Transfer);

pub fn routes() -> Routes {
    Routes::new()
        .get("/leads", VIEW, list::index)
        .get("/leads/new", CREATE, form::new)
        .post("/leads", CREATE, form::create)
        .get("/leads/recycle", VIEW, actions::recycle)
        .post("/leads/recycle/restore", DELETE, actions::restore)
        .post("/leads/recycle/purge", PURGE, actions::purge)
        .post("/leads/bulk/delete", DELETE, actions::bulk_delete)
        .post("/leads/bulk/transfer", TRANSFER, transfer::bulk)
        .post("/leads/bulk/convert", EDIT, convert::bulk)
        .get("/leads/{id}", VIEW, show::show)
        .get("/leads/{id}/edit", EDIT, form::edit)
        .post("/leads/{id}", EDIT, form::update)
        .post("/leads/{id}/delete", DELETE, actions::delete_one)
        .get("/leads/{id}/transfer", TRANSFER, transfer::page)
        .post("/leads/{id}/transfer", TRANSFER, transfer::submit)
        .get("/leads/{id}/convert", EDIT, convert::page)
        .post("/leads/{id}/convert", EDIT, convert::submit)
        .merge(crate::timeline::routes::<LeadTimeline>())
        .merge(prefs::routes::<Leads>())
        .merge(crate::records::stars::routes::<Leads>())
        .merge(crate::attachments::routes::<AttachmentHost>())
}

/// The lead list's plug into the shared scene and column pages.
pub struct Leads;

impl ListModule for Leads {
    const MODULE: &'static str = model::MODULE;
    const PATH: &'static str = "/leads";
    const PERM: Module = Module::Leads;
    const TITLE: &'static str = "nav.leads";

    async fn columns(st: &AppState, lang: Lang) -> AppResult<Vec<Column>> {
        let defs = crate::fields::defs(&st.db, model::ENTITY).await?;
        Ok(list::available_columns(&defs, lang))
    }
}

impl crate::records::stars::Starrable for Leads {
    const ENTITY: &'static str = model::ENTITY;
    const KEY: &'static str = "lead";

    async fn can_view(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<bool> {
        let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
        Ok(repo::find_visible(&st.db, &scope, id, false).await?.is_some())
    }

    async fn selected(st: &AppState, user: &CurrentUser, sel: &crate::list::Selection) -> AppResult<Vec<i64>> {
        let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
        actions::selected(st, user, &scope, sel).await
    }
}

/// Leads hold attachments: seen with the lead, changed by those who may edit it (until converted,
/// when they move to the customer).
pub struct AttachmentHost;

impl crate::attachments::Host for AttachmentHost {
    const ENTITY: &'static str = model::ENTITY;
    const PATH: &'static str = "/leads";
    const VIEW: Guard = VIEW;
    const EDIT: Guard = EDIT;

    async fn can_view(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<bool> {
        let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
        Ok(repo::find_visible(&st.db, &scope, id, false).await?.is_some())
    }

    async fn writable(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
        let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
        form::writable(st, &scope, id).await.map(|_| ())
    }
}

/// Follow-ups on leads: written by those who may change the lead, until it is converted.
pub struct LeadTimeline;

impl crate::timeline::Host for LeadTimeline {
    const ENTITY: &'static str = model::ENTITY;
    const PATH: &'static str = "/leads";
    const GUARD: Guard = EDIT;

    async fn check_writable(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
        let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
        form::writable(st, &scope, id).await.map(|_| ())
    }

    async fn describe(st: &AppState, id: i64) -> AppResult<(String, Option<i64>)> {
        let name: String =
            sqlx::query_scalar("SELECT name FROM leads WHERE id = $1").bind(id).fetch_one(&st.db).await?;
        Ok((name, None))
    }
}
