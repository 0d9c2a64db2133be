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
    // With items wanted, one scan gives both them and the count (a window count).
    let mut q = QueryBuilder::new(if limit > 0 {
        "SELECT c.id, c.name, c.next_contact_at, count(*) OVER ()"
    } else {
        "SELECT 0::bigint, '', now(), count(*)"
    });
    q.push(" FROM customers c WHERE c.deleted_at IS NULL AND c.owner_id = ").push_bind(user.id);
    push_contact_due(&mut q, tomorrow);
    if limit > 0 {
        q.push(" ORDER BY c.next_contact_at, c.id LIMIT ").push_bind(limit);
    }
    let rows: Vec<(i64, String, chrono::DateTime<chrono::Utc>, i64)> = q.build_query_as().fetch_all(db).await?;
    let count = rows.first().map_or(0, |r| r.3);
    let items = rows
        .into_iter()
        .filter(|_| limit > 0)
        .map(|(id, name, at, _)| Item {
            at: Some(at),
            overdue: at < today,
            ..Item::new(name, format!("/customers/{id}?tab=timeline"))
        })
        .collect();
    Ok(Section { count, items, href: "/customers?scene=mine&contact_due=1&sort=next_contact&dir=asc".into() })
}
