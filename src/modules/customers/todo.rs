//! The customers' part of the to-do centre: my customers due for contact (the next contact time
//! has come and nobody followed up since), listed by the customer list's `contact_due` filter.

use futures_util::FutureExt;
use sqlx::{PgPool, QueryBuilder};

use super::list::push_contact_due;
use crate::access::{Action, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::todo::{Cx, Item, Section, Source};

pub const CONTACT_DUE: Source = Source {
    code: "followups_due",
    label_key: "todo.followups_due",
    icon: "contact",
    applies: |u| u.can(Module::Customers, Action::View),
    load: |db, user, cx, limit| contact_due(db, user, cx, limit).boxed(),
};

async fn contact_due(db: &PgPool, user: &CurrentUser, cx: Cx, limit: i64) -> AppResult<Section> {
    let (today, tomorrow) = cx.today_bounds();
    let from = |select: &str| {
        let mut q = QueryBuilder::new(select);
        q.push(" FROM customers c WHERE c.deleted_at IS NULL AND c.owner_id = ").push_bind(user.id);
        push_contact_due(&mut q, tomorrow);
        q
    };
    let count: i64 = from("SELECT count(*)").build_query_scalar().fetch_one(db).await?;
    let mut items = Vec::new();
    if limit > 0 && count > 0 {
        let mut q = from("SELECT c.id, c.name, c.next_contact_at");
        q.push(" ORDER BY c.next_contact_at, c.id LIMIT ").push_bind(limit);
        let rows: Vec<(i64, String, chrono::DateTime<chrono::Utc>)> = q.build_query_as().fetch_all(db).await?;
        items = rows
            .into_iter()
            .map(|(id, name, at)| Item {
                at: Some(at),
                overdue: at < today,
                ..Item::new(name, format!("/customers/{id}?tab=timeline"))
            })
            .collect();
    }
    Ok(Section { count, items, href: "/customers?scene=mine&contact_due=1&sort=next_contact&dir=asc".into() })
}
