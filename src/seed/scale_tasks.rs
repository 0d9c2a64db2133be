//! The benchmark generator's tasks (issue 17): `n` tasks (1,000,000 at scale 1), nine in ten
//! done, owned like the customers they are about (so skewed over reps as the rest), one in ten
//! given by the owner's superior, one in eight with a participant, three in five related to
//! their customer. Reminders of tasks already due count as sent, so the first run of the
//! reminder job does not wake the whole history.

use sqlx::PgConnection;

/// Insert the tasks, their participants and their links to customers (set-based). The caller
/// has disabled the tasks' triggers and recounts `owner_counts` for "task".
pub async fn generate(conn: &mut PgConnection, n: i64) -> anyhow::Result<()> {
    // Each task's id, customer and owner first, so its link below names the customer its
    // title does.
    let plan = r#"
CREATE TEMP TABLE task_gen ON COMMIT DROP AS
WITH cu AS (SELECT min(id) AS lo, max(id) - min(id) + 1 AS span FROM customers)
SELECT nextval('tasks_id_seq') AS id, g.i, c.id AS customer_id, c.short_name, c.owner,
       coalesce(u.superior_id, c.owner) AS boss, random() AS r_done, random() AS r_age, random() AS r_due,
       random() AS r_by
FROM generate_series(1, $1::bigint) g(i), cu,
LATERAL (SELECT id, short_name, coalesce(owner_id, previous_owner_id) AS owner FROM customers
          WHERE id = cu.lo + (hashint8(g.i) & 2147483647) % cu.span) c
JOIN users u ON u.id = c.owner"#;
    sqlx::query(plan).bind(n).execute(&mut *conn).await?;
    let tasks = r#"
INSERT INTO tasks (id, title, description, owner_id, created_by, due_at, priority, bucket, done_at, done_by,
                   remind_minutes, reminded_at, created_at, updated_at)
SELECT g.id,
       (ARRAY['回访','发送报价给','约见','准备方案：','催款：','寄送合同给','确认需求：','演示产品给'])[1 + g.i % 8] || g.short_name,
       CASE WHEN g.i % 5 = 0 THEN '记得带上最新的资料。' END,
       g.owner,
       CASE WHEN g.r_by < 0.1 THEN g.boss ELSE g.owner END,
       x.due,
       (g.i % 4)::smallint,
       (ARRAY['inbox','today','next','later'])[1 + (g.i / 4) % 4],
       CASE WHEN x.done THEN least(now(), x.created + (x.due - x.created) * g.r_due) END,
       CASE WHEN x.done THEN g.owner END,
       CASE WHEN g.i % 3 = 0 THEN NULL ELSE 30 END,
       CASE WHEN x.due < now() THEN x.due END,
       x.created, x.created
FROM task_gen g,
LATERAL (SELECT g.r_done < 0.9 AS done) d,
-- Open tasks are recent (the last 45 days); done ones spread over two years.
LATERAL (SELECT now() - (g.r_age * g.r_age) * CASE WHEN d.done THEN interval '720 days' ELSE interval '45 days' END
                - interval '1 hour' AS created, d.done) y,
LATERAL (SELECT y.created, y.done, y.created + interval '1 hour' + g.r_due * interval '30 days' AS due) x"#;
    sqlx::query(tasks).execute(&mut *conn).await?;
    // A colleague of the same department takes part in one task in eight.
    let participants = r#"
INSERT INTO task_participants (task_id, user_id)
SELECT t.id, p.id
FROM tasks t JOIN users o ON o.id = t.owner_id,
LATERAL (SELECT u.id FROM users u WHERE u.dept_id = o.dept_id AND u.id <> o.id AND u.status = 'active'
          ORDER BY hashint8(t.id * 7 + u.id) LIMIT 1) p
WHERE t.id % 8 = 0"#;
    sqlx::query(participants).execute(&mut *conn).await?;
    // Three tasks in five are related to the customer their title names.
    let links = "INSERT INTO work_links (kind, item_id, entity, entity_id)
                 SELECT 'task', id, 'customer', customer_id FROM task_gen WHERE i % 5 < 3";
    sqlx::query(links).execute(&mut *conn).await?;
    sqlx::query("DROP TABLE task_gen").execute(&mut *conn).await?;
    Ok(())
}
