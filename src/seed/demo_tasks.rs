//! The demo company's tasks: a dozen for the reps and their manager — some for today, some
//! overdue, some done, with checklists, participants and related customers — so the task list,
//! the to-do centre and the customers' timelines have something to show.

use chrono::{Duration, FixedOffset, NaiveTime, TimeZone, Utc};
use sqlx::PgConnection;

/// (title, owner login, creator login, due: (days from today, hour) or None, priority, bucket,
/// done, participant login, customer owned by the owner to relate (index among theirs), checklist)
type Demo = (
    &'static str,
    &'static str,
    &'static str,
    Option<(i64, u32)>,
    i16,
    &'static str,
    bool,
    Option<&'static str>,
    Option<usize>,
    &'static [&'static str],
);

const TASKS: &[Demo] = &[
    (
        "回访客户，确认试用反馈",
        "13800000003",
        "13800000003",
        Some((0, 16)),
        3,
        "inbox",
        false,
        None,
        Some(0),
        &["整理试用问题清单", "约技术同事一起"],
    ),
    (
        "发送年度报价单",
        "13800000003",
        "13800000002",
        Some((0, 11)),
        2,
        "inbox",
        false,
        Some("13800000004"),
        Some(1),
        &[],
    ),
    (
        "催收第二期款项",
        "13800000003",
        "13800000003",
        Some((-2, 10)),
        3,
        "today",
        false,
        None,
        Some(0),
        &["核对发票", "电话财务"],
    ),
    (
        "准备季度复盘材料",
        "13800000003",
        "13800000002",
        Some((3, 18)),
        1,
        "next",
        false,
        Some("13800000002"),
        None,
        &["汇总商机", "写风险点", "做幻灯片"],
    ),
    ("整理名片录入系统", "13800000003", "13800000003", None, 0, "later", false, None, None, &[]),
    (
        "寄送合同原件",
        "13800000003",
        "13800000003",
        Some((-5, 15)),
        2,
        "inbox",
        true,
        None,
        Some(1),
        &["打印", "盖章", "快递"],
    ),
    (
        "约见采购负责人",
        "13800000004",
        "13800000004",
        Some((0, 14)),
        2,
        "today",
        false,
        Some("13800000003"),
        Some(0),
        &[],
    ),
    (
        "提交投标文件",
        "13800000004",
        "13800000002",
        Some((-1, 17)),
        3,
        "inbox",
        false,
        None,
        Some(1),
        &["技术方案", "商务报价"],
    ),
    ("产品演示", "13800000004", "13800000004", Some((2, 10)), 1, "next", false, None, Some(0), &[]),
    ("更新客户联系人信息", "13800000004", "13800000004", Some((-3, 9)), 0, "inbox", true, None, None, &[]),
    ("华东区周例会纪要", "13800000002", "13800000002", Some((1, 9)), 1, "next", false, Some("13800000003"), None, &[]),
    (
        "北方区重点客户拜访计划",
        "13800000006",
        "13800000005",
        Some((0, 20)),
        2,
        "inbox",
        false,
        None,
        Some(0),
        &["列出名单", "排日程"],
    ),
];

pub async fn seed(tx: &mut PgConnection) -> anyhow::Result<()> {
    let tz = FixedOffset::east_opt(8 * 3600).expect("+08:00");
    let today = Utc::now().with_timezone(&tz).date_naive();
    for (title, owner, creator, due, priority, bucket, done, participant, customer, checklist) in TASKS {
        let owner_id = user(tx, owner).await?;
        let creator_id = user(tx, creator).await?;
        let due_at = due.map(|(days, hour)| {
            let at = (today + Duration::days(days)).and_time(NaiveTime::from_hms_opt(hour, 0, 0).expect("an hour"));
            tz.from_local_datetime(&at).single().expect("fixed offset").to_utc()
        });
        // Due times already past count as reminded: the demo's bell starts quiet.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tasks (title, owner_id, created_by, due_at, priority, bucket, done_at, done_by, reminded_at,
                                created_at)
             VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END, CASE WHEN $7 THEN $2 END,
                     CASE WHEN $4 < now() THEN $4 END, now() - interval '3 days')
             RETURNING id",
        )
        .bind(title)
        .bind(owner_id)
        .bind(creator_id)
        .bind(due_at)
        .bind(priority)
        .bind(bucket)
        .bind(done)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(p) = participant {
            let p = user(tx, p).await?;
            sqlx::query("INSERT INTO task_participants (task_id, user_id) VALUES ($1, $2)")
                .bind(id)
                .bind(p)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(k) = customer {
            let c: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM customers WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY id OFFSET $2 LIMIT 1",
            )
            .bind(owner_id)
            .bind(*k as i64)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(c) = c {
                crate::records::links::replace(tx, "task", id, &[("customer", c)]).await?;
            }
        }
        for (pos, item) in checklist.iter().enumerate() {
            sqlx::query(
                "INSERT INTO task_subtasks (task_id, title, position, done_at)
                 VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END)",
            )
            .bind(id)
            .bind(item)
            .bind(pos as i32)
            .bind(*done || pos == 0)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

async fn user(tx: &mut PgConnection, login: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE login = $1").bind(login).fetch_one(&mut *tx).await?)
}
