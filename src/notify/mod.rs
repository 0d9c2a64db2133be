//! Notifications and reminders: the one way to tell a user something in the app.
//!
//! A notification stores a `kind` and JSON `params`, not text: the catalog entry `notify.<kind>`
//! is filled with the params when the notification is shown, so each reader sees it in their own
//! language. `send` writes in the caller's transaction (the change and its notification stand or
//! fall together); `remind` queues one for later, delivered by the `deliver_reminders` job.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use crate::web::i18n::Lang;

/// A notification for `user_id`, written in the caller's transaction. `kind` names the catalog text
/// `notify.<kind>` whose {placeholders} are filled from the JSON object `params` when shown, in the
/// reader's language. Nothing is sent when the actor is the recipient.
pub async fn send(
    conn: &mut PgConnection,
    user_id: i64,
    kind: &str,
    params: Value,
    link: Option<&str>,
    actor_id: Option<i64>,
) -> sqlx::Result<()> {
    if actor_id == Some(user_id) {
        return Ok(());
    }
    sqlx::query("INSERT INTO notifications (user_id, kind, params, link, actor_id) VALUES ($1, $2, $3, $4, $5)")
        .bind(user_id)
        .bind(kind)
        .bind(Json(&params))
        .bind(link)
        .bind(actor_id)
        .execute(&mut *conn)
        .await?;
    crate::mail::notification(conn, user_id, kind, &params, link).await
}

/// A reminder that becomes a notification (same kind/params/link) when `due_at` passes; delivered
/// by the jobs loop. Reminders to oneself are the common case and are kept.
pub async fn remind(
    conn: &mut PgConnection,
    user_id: i64,
    due_at: DateTime<Utc>,
    kind: &str,
    params: Value,
    link: Option<&str>,
    created_by: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO reminders (user_id, due_at, kind, params, link, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(due_at)
    .bind(kind)
    .bind(Json(params))
    .bind(link)
    .bind(created_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Unread notifications of a user (the bell).
pub async fn unread_count(db: &PgPool, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .fetch_one(db)
        .await
}

/// Due reminders become notifications, at most `limit` per call, in one statement. Rows locked by
/// a concurrent runner are skipped and rows already delivered are not selected, so no reminder is
/// ever delivered twice. Each notification's mail copy (`mail::notification`) is enqueued in the
/// same transaction. Returns how many were delivered.
pub async fn deliver_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> sqlx::Result<u64> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let delivered: Vec<(i64, String, Json<Value>, Option<String>)> = sqlx::query_as(
        "WITH due AS (
           SELECT id FROM reminders
           WHERE delivered_at IS NULL AND due_at <= $1
           ORDER BY due_at, id
           LIMIT $2
           FOR UPDATE SKIP LOCKED
         ), delivered AS (
           UPDATE reminders r SET delivered_at = now()
           FROM due WHERE r.id = due.id AND r.delivered_at IS NULL
           RETURNING r.user_id, r.kind, r.params, r.link, r.created_by
         )
         INSERT INTO notifications (user_id, kind, params, link, actor_id)
         SELECT user_id, kind, params, link, NULLIF(created_by, user_id) FROM delivered
         RETURNING user_id, kind, params, link",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    for (user_id, kind, params, link) in &delivered {
        crate::mail::notification(&mut tx, *user_id, kind, params, link.as_deref()).await?;
    }
    tx.commit().await?;
    Ok(delivered.len() as u64)
}

/// The text of a notification in `lang` (missing params stay as written). An unknown kind shows
/// as its catalog key, like any other missing text.
pub fn render(lang: Lang, kind: &str, params: &Value) -> String {
    let key = format!("notify.{kind}");
    let template = lang.try_t(&key).unwrap_or(key.as_str());
    fill(lang, template, params)
}

/// Replace each `{name}` in `template` with `params[name]`; each placeholder is filled once, so a
/// value that itself contains braces is shown as written.
fn fill(lang: Lang, template: &str, params: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after.find('}').filter(|&n| n > 0 && is_name(&after[..n]));
        match name_len.and_then(|n| params.get(&after[..n]).map(|v| (n, v))) {
            Some((n, value)) => {
                out.push_str(&param_text(lang, value));
                rest = &after[n + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_name(s: &str) -> bool {
    s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A param as text: strings as they are; a list of `[label key, count]` pairs as counts in the
/// reader's language ("客户 12、联系人 3" / "Customer: 12, Contact: 3").
fn param_text(lang: Lang, v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let label = lang.t(item.get(0)?.as_str()?);
                let n = item.get(1)?.to_string();
                Some(lang.tf("notify.count_item", &[("label", label), ("n", &n)]))
            })
            .collect::<Vec<_>>()
            .join(if lang == Lang::En { ", " } else { "、" }),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fills_known_placeholders_and_keeps_the_rest() {
        let p = json!({ "name": "张三", "n": 3, "x": "{n}" });
        assert_eq!(fill(Lang::Zh, "{name} has {n} {missing} {x} {} {", &p), "张三 has 3 {missing} {n} {} {");
        assert_eq!(fill(Lang::Zh, "", &p), "");
        assert_eq!(fill(Lang::Zh, "plain", &Value::Null), "plain");
    }

    #[test]
    fn renders_in_the_readers_language() {
        let p = json!({ "text": "call back" });
        assert_eq!(render(Lang::En, "reminder", &p), "Reminder: call back");
        assert_eq!(render(Lang::Zh, "reminder", &p), "提醒：call back");
        assert_eq!(render(Lang::En, "no such kind", &p), "notify.no such kind");
    }

    #[test]
    fn counts_read_in_the_readers_language() {
        let p = json!({ "items": [["entity.customer", 12], ["entity.contact", 3]] });
        assert_eq!(fill(Lang::Zh, "{items}", &p), "客户 12、联系人 3");
        assert_eq!(fill(Lang::En, "{items}", &p), "Customer: 12, Contact: 3");
    }
}
