//! The benchmark's work logs: about `n` logs (200,000 at scale 1) over the past year, skewed
//! over the reps (logins b0001...: the first write every day, the last now and then), daily ones
//! for the most recent days and weekly and monthly ones in proportion, each sent to its author's
//! superior — read, except for the last two days'.

use sqlx::PgConnection;

/// Daily logs are this share of all (weeks add a fifth, months about a twentieth).
const DAILY_SHARE: f64 = 1.0 / 1.245;

pub async fn generate(conn: &mut PgConnection, n: i64) -> anyhow::Result<()> {
    let sql = r#"
WITH reps AS (SELECT id, row_number() OVER (ORDER BY id) AS k, count(*) OVER () AS total
                FROM users WHERE login ~ '^b[0-9]{4}$' AND login <> 'b0000'),
w AS (SELECT id, power(1 - (k - 1)::float8 / total, 2) + 0.05 AS w FROM reps),
per AS (SELECT w.id, least(365, round($1::float8 * w.w / (SELECT sum(w) FROM w))::int) AS days FROM w),
t AS (SELECT ARRAY['拜访客户，介绍了新产品方案','电话回访老客户，确认续约意向','整理报价单并发给客户',
                   '参加客户技术交流会','跟进回款，客户承诺月底付清','准备投标材料','陪同经理拜访重点客户',
                   '处理客户投诉，已安排售后'] AS done,
             ARRAY['继续跟进报价反馈','约客户面谈','准备合同初稿','整理本周客户拜访记录'] AS plans),
logs AS (
  SELECT per.id AS owner, 'daily' AS kind, current_date - d AS s, current_date - d AS e
    FROM per, generate_series(1, per.days) d
  UNION ALL
  SELECT per.id, 'weekly', date_trunc('week', current_date)::date - 7 * k, date_trunc('week', current_date)::date - 7 * k + 6
    FROM per, generate_series(1, least(52, per.days / 5)) k
  UNION ALL
  SELECT per.id, 'monthly', (date_trunc('month', current_date) - make_interval(months => m))::date,
         (date_trunc('month', current_date) - make_interval(months => m - 1))::date - 1
    FROM per, generate_series(1, least(12, per.days / 22)) m)
INSERT INTO worklogs (kind, period_start, period_end, done, plans, problems, owner_id, created_by,
                      submitted_at, created_at, updated_at)
SELECT l.kind, l.s, l.e, t.done[1 + (l.owner + (l.s - date '2000-01-01')) % 8],
       t.plans[1 + (l.owner * 7 + (l.s - date '2000-01-01')) % 4],
       CASE WHEN (l.owner + (l.s - date '2000-01-01')) % 9 = 0 THEN '客户预算还没有批下来' ELSE '' END,
       l.owner, l.owner, l.e + time '18:00', l.e + time '18:00', l.e + time '18:00'
FROM logs l, t"#;
    sqlx::query(sql).bind(n as f64 * DAILY_SHARE).execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO worklog_recipients (worklog_id, user_id, read_at)
         SELECT w.id, u.superior_id, CASE WHEN w.period_end < current_date - 2 THEN w.submitted_at + interval '15 hours' END
           FROM worklogs w JOIN users u ON u.id = w.owner_id
          WHERE u.superior_id IS NOT NULL AND u.superior_id <> w.owner_id",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
