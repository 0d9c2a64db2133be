//! Outgoing mail: SMTP accounts (primary and fallbacks), the outbox and its sending job, and the
//! mail copies of notifications.
//!
//! A module never talks SMTP. It writes a row with `mail::enqueue(&mut tx, &NewMail { .. })` in
//! the transaction of the change that causes the mail; the `send_mail` job (registered by the mail
//! settings module) sends it, retries temporary failures with backoff and fails over to the next
//! account. Notifications (`notify::send`, reminders) enqueue their mail copy here on their own,
//! per the recipient's choices (`prefs`).

pub mod accounts;
pub mod crypto;
pub mod outbox;
pub mod prefs;
pub mod quota;
pub mod smtp;

use serde_json::Value;
use sqlx::PgConnection;

pub use outbox::{NewMail, enqueue};

use crate::web::i18n::Lang;

/// Longest subject a notification mail gets (its text is cut with "…").
const SUBJECT_MAX: usize = 120;

/// The mail copy of a notification of `kind` to `user_id`, enqueued in the caller's transaction
/// when the kind belongs to a topic the user gets by mail and they have an address. Notification
/// mails are system mail: they do not count against anyone's sending quota.
pub async fn notification(
    conn: &mut PgConnection,
    user_id: i64,
    kind: &str,
    params: &Value,
    link: Option<&str>,
) -> sqlx::Result<()> {
    let Some(topic) = prefs::topic_of(kind) else { return Ok(()) };
    let who: Option<(Option<String>, String, Option<String>, bool)> = sqlx::query_as(
        "SELECT u.email, u.name, u.lang, COALESCE(p.enabled, $3)
         FROM users u LEFT JOIN mail_prefs p ON p.user_id = u.id AND p.topic = $2
         WHERE u.id = $1 AND u.status = 'active'",
    )
    .bind(user_id)
    .bind(topic.code)
    .bind(topic.default_on)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((Some(email), name, lang, true)) = who else { return Ok(()) };
    if email.trim().is_empty() {
        return Ok(());
    }
    let lang = lang.as_deref().and_then(Lang::from_code).unwrap_or(Lang::Zh);
    let text = crate::notify::render(lang, kind, params);
    let mut subject: String = text.lines().next().unwrap_or_default().chars().take(SUBJECT_MAX).collect();
    if subject.chars().count() < text.lines().next().unwrap_or_default().chars().count() {
        subject.push('…');
    }
    let body_text = format!("{text}\n\n-- \n{}", lang.t("mail.notify_footer"));
    enqueue(
        conn,
        &NewMail {
            kind: "notification",
            user_id: Some(user_id),
            created_by: None,
            to_address: email,
            to_name: name,
            subject,
            body_text,
            link: link.map(str::to_string),
        },
    )
    .await?;
    Ok(())
}
