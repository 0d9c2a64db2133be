//! The payment page: amount, state and its approval, the contract, plan term, date, method and
//! notes; tabs for attachments and history. A rejected or withdrawn payment offers edit, submit
//! again and delete to whoever may change it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;

use super::approval::subject;
use super::model::{DICTS, Payment, Status};
use super::{RECORD, repo};
use crate::access::{Action, DataScope, Module};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};
use crate::workflow;

const TABS: &[(&str, &str)] =
    &[("basic", "payment.tab.basic"), ("attachments", "payment.tab.attachments"), ("history", "payment.tab.history")];

#[derive(Template)]
#[template(path = "payments/show.html")]
struct ShowPage {
    ctx: PageCtx,
    p: Payment,
    d: Detail,
    dicts: Dicts,
    /// (instance id, status key, badge) of its latest approval.
    approval: Option<(i64, &'static str, &'static str)>,
    can_edit: bool,
    can_delete: bool,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.d.tab_links(&self.ctx, TABS)
    }

    fn method(&self) -> String {
        self.dicts.label(self.p.method_id, self.ctx.lang)
    }

    fn status(&self) -> Status {
        self.p.status()
    }
}

pub async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Query(q): Query<TabQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Payments).await?;
    let p = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    let row = Row { id, owner: p.owner_id, read_only: false, custom: &p.custom, customer: Some(p.customer_id) };
    let d = Detail::load(&st, &ctx, (user, &scope), &RECORD, row, TABS, &q).await?;
    let mut conn = st.db.acquire().await?;
    let approval = workflow::latest(&mut conn, subject(), id)
        .await?
        .map(|i| (i.id, workflow::labels::status_key(&i.status), workflow::labels::status_badge(&i.status)));
    drop(conn);
    let editable = p.status().is_editable();
    render(ShowPage {
        dicts: Dicts::load(&st.db, DICTS).await?,
        approval,
        can_edit: editable && d.may(user, &RECORD, Action::Edit),
        can_delete: editable && d.may(user, &RECORD, Action::Delete),
        d,
        ctx,
        p,
    })
    .await
}
