//! The demo company's work logs: the reps' daily logs of the last three days and last week's
//! weekly log, each sent to the rep's superior and related to one of the rep's customers. The
//! older ones have been read, yesterday's not yet; one has the manager's comment.

use sqlx::PgConnection;

/// (rep login, what was done, plans, problems)
const DAILY: &[(&str, &str, &str, &str)] = &[
    ("13800000003", "拜访华信科技，演示了审批流；整理报价单。", "跟进华信科技的报价反馈。", ""),
    ("13800000004", "电话回访三家老客户，确认续约意向。", "准备精工机械的终端方案。", "客户对交付周期有顾虑。"),
    ("13800000006", "与海河新材沟通运维续约细节。", "约客户技术负责人下周面谈。", ""),
];

pub async fn seed(tx: &mut PgConnection) -> anyhow::Result<()> {
    for (login, done, plans, problems) in DAILY {
        let (rep, superior): (i64, Option<i64>) = sqlx::query_as("SELECT id, superior_id FROM users WHERE login = $1")
            .bind(login)
            .fetch_one(&mut *tx)
            .await?;
        for days_ago in 1..=3 {
            let text = format!("{done}（{days_ago} 天前）");
            let id = insert(tx, rep, "daily", days_ago, (&text, plans, problems)).await?;
            if let Some(s) = superior {
                // Yesterday's waits unread; the older ones were read the next morning.
                sqlx::query(
                    "INSERT INTO worklog_recipients (worklog_id, user_id, read_at)
                     VALUES ($1, $2, CASE WHEN $3 > 1 THEN now() - make_interval(days => $3 - 1) END)",
                )
                .bind(id)
                .bind(s)
                .bind(days_ago)
                .execute(&mut *tx)
                .await?;
                if days_ago == 2 && *login == "13800000003" {
                    sqlx::query(
                        "INSERT INTO worklog_comments (worklog_id, author_id, body, created_at)
                         VALUES ($1, $2, '演示效果不错，报价注意给出分期方案。', now() - interval '1 day')",
                    )
                    .bind(id)
                    .bind(s)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            relate(tx, id, rep).await?;
        }
        let weekly = format!("本周：{done}");
        let id = insert(tx, rep, "weekly", 7, (&weekly, plans, problems)).await?;
        if let Some(s) = superior {
            sqlx::query("INSERT INTO worklog_recipients (worklog_id, user_id, read_at) VALUES ($1, $2, now() - interval '5 days')")
                .bind(id)
                .bind(s)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// A log of `kind` for the period holding the day `days_ago` days back.
async fn insert(
    tx: &mut PgConnection,
    rep: i64,
    kind: &str,
    days_ago: i32,
    (done, plans, problems): (&str, &str, &str),
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "WITH d AS (SELECT (current_date - $3::int) AS day),
              p AS (SELECT CASE WHEN $2 = 'weekly' THEN date_trunc('week', day)::date ELSE day END AS s FROM d)
         INSERT INTO worklogs (kind, period_start, period_end, done, plans, problems, owner_id, created_by,
                               submitted_at, created_at, updated_at)
         SELECT $2, p.s, CASE WHEN $2 = 'weekly' THEN p.s + 6 ELSE p.s END, $4, $5, $6, $1, $1,
                (p.s + CASE WHEN $2 = 'weekly' THEN 4 ELSE 0 END) + time '18:30',
                (p.s + CASE WHEN $2 = 'weekly' THEN 4 ELSE 0 END) + time '18:30',
                (p.s + CASE WHEN $2 = 'weekly' THEN 4 ELSE 0 END) + time '18:30'
         FROM p RETURNING id",
    )
    .bind(rep)
    .bind(kind)
    .bind(days_ago)
    .bind(done)
    .bind(plans)
    .bind(problems)
    .fetch_one(&mut *tx)
    .await?)
}

/// Relate the log to the rep's first customer (it shows on that customer's timeline).
async fn relate(tx: &mut PgConnection, id: i64, rep: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO work_links (kind, item_id, entity, entity_id)
         SELECT 'worklog', $1, 'customer', c.id FROM customers c WHERE c.owner_id = $2 AND c.deleted_at IS NULL
          ORDER BY c.id LIMIT 1",
    )
    .bind(id)
    .bind(rep)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
