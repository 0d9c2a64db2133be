//! The demo company's schedule: this week's and month's events for the East team — the
//! manager's weekly sales meeting (repeating, with the reps taking part and a reminder), a
//! customer visit day (all day), visits related to the reps' customers, a contract review in
//! the North — so the calendar, the to-do centre and customers' timelines have something to show.

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use sqlx::PgConnection;

/// (owner login, title, days from today's Monday, local start "HH:MM" or None for all day,
/// minutes, repeat, remind minutes, participant logins, relate the owner's n-th customer)
#[allow(clippy::type_complexity)]
const EVENTS: &[(&str, &str, i64, Option<&str>, i64, &str, Option<i32>, &[&str], Option<i64>)] = &[
    (
        "13800000002",
        "华东销售周例会",
        -28,
        Some("09:30"),
        60,
        "weekly",
        Some(15),
        &["13800000003", "13800000004"],
        None,
    ),
    ("13800000003", "上海客户集中拜访日", 2, None, 0, "none", None, &[], Some(0)),
    ("13800000003", "华信科技 方案演示", 1, Some("14:00"), 90, "none", Some(30), &["13800000004"], Some(0)),
    ("13800000004", "云帆网络 报价沟通", 3, Some("10:00"), 60, "none", Some(60), &[], Some(0)),
    ("13800000004", "客户回访电话", 0, Some("16:30"), 30, "daily", None, &[], None),
    ("13800000006", "海河新材 合同评审", 4, Some("10:00"), 120, "none", Some(15), &["13800000005"], Some(0)),
    ("13800000005", "华北月度复盘", -14, Some("15:00"), 90, "monthly", Some(1440), &["13800000006"], None),
    ("13800000003", "下周 产品培训", 8, Some("09:00"), 180, "none", None, &[], None),
];

pub async fn seed(tx: &mut PgConnection) -> anyhow::Result<()> {
    let tz = FixedOffset::east_opt(8 * 3600).expect("+08:00");
    let today = Utc::now().with_timezone(&tz).date_naive();
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    for (owner, title, day, time, minutes, repeat, remind, people, customer) in EVENTS {
        let owner: i64 =
            sqlx::query_scalar("SELECT id FROM users WHERE login = $1").bind(owner).fetch_one(&mut *tx).await?;
        let date = monday + Duration::days(*day);
        let (start, end, all_day) = match time {
            Some(t) => {
                let s = local(tz, date, t)?;
                (s, s + Duration::minutes(*minutes), false)
            }
            None => (local(tz, date, "00:00")?, local(tz, date + Duration::days(1), "00:00")?, true),
        };
        let until = (*repeat != "none").then(|| today + Duration::days(70));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (title, starts_at, ends_at, all_day, remind_minutes, repeat, repeat_until, owner_id, created_by,
                                 next_remind_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, CASE WHEN $5 IS NOT NULL THEN now() - make_interval(mins => $5) END)
             RETURNING id",
        )
        .bind(title)
        .bind(start)
        .bind(end)
        .bind(all_day)
        .bind(remind)
        .bind(repeat)
        .bind(until)
        .bind(owner)
        .fetch_one(&mut *tx)
        .await?;
        // `next_remind_at` in the past: the reminder job plans the next occurrence's reminders.
        for p in *people {
            sqlx::query("INSERT INTO event_participants (event_id, user_id) SELECT $1, id FROM users WHERE login = $2")
                .bind(id)
                .bind(p)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(n) = customer {
            sqlx::query(
                "INSERT INTO work_links (kind, item_id, entity, entity_id)
                 SELECT 'event', $1, 'customer', id FROM customers WHERE owner_id = $2 AND deleted_at IS NULL
                  ORDER BY id OFFSET $3 LIMIT 1",
            )
            .bind(id)
            .bind(owner)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

fn local(tz: FixedOffset, d: NaiveDate, hm: &str) -> anyhow::Result<chrono::DateTime<Utc>> {
    let t = chrono::NaiveTime::parse_from_str(hm, "%H:%M")?;
    let at = tz.from_local_datetime(&d.and_time(t)).single().ok_or_else(|| anyhow::anyhow!("no such local time"))?;
    Ok(at.with_timezone(&Utc))
}
