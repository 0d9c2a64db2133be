//! A finished import batch in the demo: 李娜 imported her region's customer list last week —
//! three rows created the customers she owns, one named an existing customer (skipped), one an
//! industry the dictionary does not have (refused) — so the batch list, its error report and the
//! list filter by batch have something to show.

use sqlx::PgConnection;

pub async fn seed(tx: &mut PgConnection) -> anyhow::Result<()> {
    let (user, customers): (i64, Vec<(i64, String, Option<String>, Option<String>)>) = {
        let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = '13800000002'").fetch_one(&mut *tx).await?;
        let rows = sqlx::query_as(
            "SELECT c.id, c.name, c.phone, i.label_zh FROM customers c LEFT JOIN dict_items i ON i.id = c.industry_id
              WHERE c.owner_id = $1 ORDER BY c.id LIMIT 3",
        )
        .bind(user)
        .fetch_all(&mut *tx)
        .await?;
        (user, rows)
    };
    let Some(first) = customers.first() else { return Ok(()) };
    let options = serde_json::json!({
        "mapping": ["name", "phone", "industry_id"], "dup": "skip", "owner": "me", "lang": "zh-CN"
    });
    let batch: i64 = sqlx::query_scalar(
        "INSERT INTO import_batches (source, user_id, file_name, sheet, options, status, header, total, done, done_row,
                                     created, skipped, failed, created_at, started_at, finished_at)
         VALUES ('customers', $1, '华东客户名单.xlsx', '客户', $2, 'done', ARRAY['客户名称', '电话', '所属行业'], 5, 5, 6,
                 $3, 1, 1, now() - interval '6 days', now() - interval '6 days', now() - interval '6 days')
         RETURNING id",
    )
    .bind(user)
    .bind(sqlx::types::Json(&options))
    .bind(customers.len() as i32)
    .fetch_one(&mut *tx)
    .await?;
    let mut no = 1;
    for (id, name, phone, industry) in &customers {
        no += 1;
        let cells = vec![name.clone(), phone.clone().unwrap_or_default(), industry.clone().unwrap_or_default()];
        sqlx::query("INSERT INTO import_rows (batch_id, row_no, cells, outcome, record_id) VALUES ($1, $2, $3, 'created', $4)")
            .bind(batch)
            .bind(no)
            .bind(&cells)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE customers SET import_batch_id = $1 WHERE id = $2").bind(batch).bind(id).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO operation_logs (entity, entity_id, actor_id, action, note, at)
             VALUES ('customer', $1, $2, 'import', $3, now() - interval '6 days')",
        )
        .bind(id)
        .bind(user)
        .bind(format!("导入批次 #{batch}（华东客户名单.xlsx）"))
        .execute(&mut *tx)
        .await?;
    }
    for (outcome, cells, message) in [
        ("skipped", vec![first.1.clone(), String::new(), String::new()], format!("客户名称与「{}」重复，已被 李娜 添加", first.1)),
        (
            "failed",
            vec!["杭州西溪数字科技有限公司".into(), "0571-88001234".into(), "数字经济".into()],
            "所属行业：“数字经济”不是可选的值".to_string(),
        ),
    ] {
        no += 1;
        sqlx::query("INSERT INTO import_rows (batch_id, row_no, cells, outcome, message) VALUES ($1, $2, $3, $4, $5)")
            .bind(batch)
            .bind(no)
            .bind(&cells)
            .bind(outcome)
            .bind(message)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO operation_logs (entity, entity_id, actor_id, action, note, at)
         VALUES ('import_batch', $1, $2, 'import_run', $3, now() - interval '6 days')",
    )
    .bind(batch)
    .bind(user)
    .bind(format!("华东客户名单.xlsx：新建 {}，更新 0，跳过 1，失败 1", customers.len()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}
