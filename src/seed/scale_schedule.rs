//! The benchmark's schedule: `n` events (500,000 at scale 1) over the past year and the next two
//! months, owners skewed over the reps (`b0001`...) as their customers are, in working hours
//! (configured zone +08:00), 5% repeating (daily, weekly, monthly; half with an end), a quarter
//! with a reminder, one in ten with a colleague taking part. Reminders are not planned (the job
//! plans them when an event is saved).

use sqlx::PgConnection;

pub async fn seed(conn: &mut PgConnection, n: i64) -> anyhow::Result<()> {
    sqlx::query(
        r#"
WITH reps AS (SELECT array_agg(id ORDER BY id) AS a FROM users WHERE login ~ '^b[0-9]{4}$' AND login <> 'b0000'),
g AS (SELECT i, random() AS r_owner, random() AS r_day, random() AS r_rep FROM generate_series(1, $1::bigint) i),
x AS (SELECT g.i, g.r_rep,
             reps.a[1 + floor(g.r_owner * g.r_owner * array_length(reps.a, 1))::int] AS owner,
             -- 01:00-10:30 UTC: 09:00-18:30 in the configured zone.
             date_trunc('day', now() - interval '365 days' + g.r_day * interval '425 days')
               + make_interval(hours => 1 + (g.i % 10)::int, mins => 30 * (g.i % 2)::int) AS start
        FROM g, reps)
INSERT INTO events (title, starts_at, ends_at, location, owner_id, created_by, remind_minutes, repeat, repeat_until,
                    created_at, updated_at)
SELECT (ARRAY['拜访客户','电话回访','内部会议','产品演示','合同谈判','方案讲解','培训','周例会'])[1 + (x.i % 8)::int] || ' ' || x.i,
       x.start,
       x.start + make_interval(mins => (ARRAY[30, 60, 60, 90, 120])[1 + (x.i % 5)::int]),
       CASE WHEN x.i % 3 = 0 THEN '客户现场' END,
       x.owner, x.owner,
       CASE WHEN x.i % 4 = 0 THEN 15 END,
       CASE WHEN x.r_rep < 0.05 THEN (ARRAY['daily', 'weekly', 'weekly', 'monthly'])[1 + (x.i % 4)::int] ELSE 'none' END,
       CASE WHEN x.r_rep < 0.05 AND x.i % 2 = 0 THEN (x.start + interval '90 days')::date END,
       x.start - interval '7 days', x.start - interval '7 days'
  FROM x"#,
    )
    .bind(n)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "WITH reps AS (SELECT array_agg(id ORDER BY id) AS a FROM users WHERE login ~ '^b[0-9]{4}$' AND login <> 'b0000')
         INSERT INTO event_participants (event_id, user_id)
         SELECT e.id, reps.a[1 + ((e.id * 7919) % array_length(reps.a, 1))::int] FROM events e, reps
          WHERE e.id % 10 = 0 AND e.owner_id <> reps.a[1 + ((e.id * 7919) % array_length(reps.a, 1))::int]
         ON CONFLICT DO NOTHING",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
