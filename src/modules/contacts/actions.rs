//! Setting a contact as its customer's primary contact. (Stars, delete and the recycle bin,
//! transfer come from the record kernel.)

use axum::extract::{Path, State};
use axum::response::Response;

use super::form::writable;
use super::model::ENTITY;
use super::repo;
use crate::access::{DataScope, Module};
use crate::audit::Entry;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, done};

/// Make this contact its customer's primary contact (the previous one stops being primary).
pub async fn set_primary(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let c = writable(&st, &scope, id).await?;
    let mut tx = st.db.begin().await?;
    repo::lock_customer(&mut tx, c.customer_id).await?;
    let previous = repo::set_primary(&mut tx, id, c.customer_id).await?;
    if let Some((prev, _)) = previous {
        Entry::new(ENTITY, prev, "update")
            .change("primary", true, false)
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    let entry = Entry::new(ENTITY, id, "update").change("primary", c.is_primary, true);
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, ctx.tf1("contact.primary_set", "name", &c.name), &format!("/contacts/{id}")).await
}
