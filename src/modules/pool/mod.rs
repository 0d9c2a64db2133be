//! The public pool (公海): customers without an owner, grouped in pools that admins configure
//! (src/modules/admin/pools). Members claim, pool admins and managers assign, owners put back,
//! and a periodic job recycles customers by the pools' rules.
//!
//! - `repo`: pools, membership, and `push_in_member_pool` — the arm that
//!   `customers::repo::find_visible` adds so members can open pool customers' detail pages;
//! - `rules`: rule kinds, the recycle and warning jobs (`recycle`, `warn`, registered in
//!   `crate::jobs::all`), and the "about to enter" computation;
//! - `list`: a pool's page on the shared list mechanism;
//! - `actions`: claim, assign, put back;
//! - `upcoming`: the owner's "about to enter the pool" page.

pub mod actions;
pub mod list;
pub mod repo;
pub mod rules;
pub mod upcoming;

use crate::access::{Action, Guard, Module, Routes};
use crate::error::AppResult;
use crate::list::Column;
use crate::list::prefs::{self, ListModule};
use crate::state::AppState;
use crate::web::i18n::Lang;

const VIEW: Guard = Guard::Perm(Module::Pool, Action::View);
/// Putting a customer back changes it: the customers "edit" permission, then owner or scope.
const PUT_BACK: Guard = Guard::Perm(Module::Customers, Action::Edit);

pub fn routes() -> Routes {
    Routes::new()
        .get("/pool", VIEW, list::index)
        .get("/pool/upcoming", VIEW, upcoming::page)
        .post("/pool/claim", VIEW, actions::bulk_claim)
        .post("/pool/assign", VIEW, actions::bulk_assign)
        .post("/pool/customers/{id}/claim", VIEW, actions::claim_one)
        .get("/customers/{id}/put-back", PUT_BACK, actions::put_back_page)
        .post("/customers/{id}/put-back", PUT_BACK, actions::put_back)
        .merge(prefs::routes::<PoolList>())
}

/// The pool list's plug into the shared scene and column pages.
pub struct PoolList;

impl ListModule for PoolList {
    const MODULE: &'static str = list::MODULE;
    const PATH: &'static str = "/pool";
    const PERM: Module = Module::Pool;
    const TITLE: &'static str = "nav.pool";

    async fn columns(st: &AppState, lang: Lang) -> AppResult<Vec<Column>> {
        let defs = crate::fields::defs(&st.db, "customer").await?;
        Ok(list::available_columns(&defs, lang))
    }
}
