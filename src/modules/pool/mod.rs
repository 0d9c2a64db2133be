//! The public pool (公海): customers without an owner, grouped in pools that admins configure
//! (src/modules/admin/pools). Members claim, pool admins and managers assign, owners put back,
//! and a periodic job recycles customers by the pools' rules.
//!
//! - `repo`: pools, membership, and `push_in_member_pool` — the arm customers add to their
//!   visibility (`customers::RECORD.also_visible`) so members can open pool customers' pages;
//! - `rules`: rule kinds, the recycle and warning jobs (`recycle`, `warn`, registered below),
//!   and the "about to enter" computation;
//! - `list`: a pool's page on the shared list mechanism;
//! - `actions`: claim, assign, put back;
//! - `upcoming`: the owner's "about to enter the pool" page.

mod actions;
mod export;
mod list;
mod repo;
pub mod rules;
mod todo;
mod upcoming;

use std::time::Duration;

use futures_util::FutureExt;

use crate::access::{Action, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::jobs::{Job, JobCtx};
use crate::list::Column;
use crate::list::prefs::{self, ListModule};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

const VIEW: Guard = Guard::Perm(Module::Pool, Action::View);
/// Putting a customer back changes it: the customers "edit" permission, then owner or scope.
const PUT_BACK: Guard = Guard::Perm(Module::Customers, Action::Edit);

pub use repo::{Pool, default_pool, find, push_in_member_pool, take_in, take_in_many};

pub fn register(r: &mut Registry) {
    r.todo_source(todo::POOL_SOON);
    r.export(export::source());
    r.job(Job {
        name: "pool_recycle",
        concurrent: false,
        every: Duration::from_secs(3600),
        run: |ctx| recycle(ctx).boxed(),
    })
    .job(Job {
        name: "pool_warnings",
        concurrent: false,
        every: Duration::from_secs(3600),
        run: |ctx| warnings(ctx).boxed(),
    });
}

/// Customers the pool rules make due move into their pool.
async fn recycle(ctx: JobCtx) -> anyhow::Result<String> {
    let n = rules::recycle(&ctx.db, ctx.now).await?;
    Ok(format!("recycled {n}"))
}

/// Owners hear, once, about customers their pool's rules will recycle within the reminder days.
async fn warnings(ctx: JobCtx) -> anyhow::Result<String> {
    let n = rules::warn(&ctx.db, ctx.now).await?;
    Ok(format!("warned about {n}"))
}

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
    fn path() -> &'static str {
        "/pool"
    }

    fn perm() -> Module {
        Module::Pool
    }

    async fn columns(st: &AppState, _user: &CurrentUser, lang: Lang) -> AppResult<Vec<Column>> {
        let defs = crate::fields::defs(&st.db, "customer").await?;
        Ok(list::available_columns(&defs, lang))
    }
}
