//! Bulk actions that need options (transfer, add to team, share): the list posts the selection
//! here, the options page carries it along, and the second post applies the action.

use askama::Template;
use axum::response::{IntoResponse, Response};

use super::actions::{selected, writable_ids};
use crate::access::DataScope;
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::list::Selection;
use crate::org::{departments as depts, users};
use crate::state::AppState;
use crate::web::{PageCtx, SelectOpt, render};

#[derive(Template)]
#[template(path = "customers/bulk.html")]
struct OptionsPage {
    ctx: PageCtx,
    /// "transfer", "team" or "share"
    action: &'static str,
    sel: Selection,
    count: usize,
    users: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
}

impl OptionsPage {
    fn all_matching(&self) -> bool {
        self.sel.all_matching()
    }

    fn title_key(&self) -> &'static str {
        match self.action {
            "transfer" => "transfer.title",
            "team" => "team.bulk_title",
            _ => "share.bulk_title",
        }
    }

    /// The transfer fields start with contacts moving along.
    fn blank(&self) -> crate::web::FormData {
        let mut f = crate::web::FormData::default();
        f.set("move_contacts", "1");
        f
    }
}

pub async fn options_page(st: &AppState, ctx: PageCtx, action: &'static str, sel: Selection) -> AppResult<Response> {
    let user = ctx.user()?;
    let scope = DataScope::resolve(&st.db, user, crate::access::Module::Customers).await?;
    let count = selected(st, user, &scope, &sel).await?.len();
    let page = OptionsPage {
        users: users::options(&st.db, true).await?,
        depts: depts::options(&st.db).await?,
        ctx,
        action,
        sel,
        count,
    };
    Ok(render(page)?.into_response())
}

/// (id, name, owner) of the selected customers the user may change.
pub async fn writable_rows(
    st: &AppState,
    user: &CurrentUser,
    scope: &DataScope,
    sel: &Selection,
) -> AppResult<Vec<(i64, String, Option<i64>)>> {
    let ids = selected(st, user, scope, sel).await?;
    let ok = writable_ids(st, scope, &ids).await?;
    Ok(sqlx::query_as("SELECT id, name, owner_id FROM customers WHERE id = ANY($1) ORDER BY id")
        .bind(&ok)
        .fetch_all(&st.db)
        .await?)
}
