//! For scripts/bench: a customer workbook to import into a generated database, shaped like a
//! real one — 5% of its rows name customers that already exist (duplicates), 1% carry an
//! industry no dictionary has (row errors), the rest are new companies with their own mobile.

use std::path::Path;

use rust_xlsxwriter::Workbook;
use sqlx::PgPool;

/// Write `rows` data rows to `out` (constant memory: the file, not the process, grows).
pub async fn write_file(db: &PgPool, rows: usize, out: &Path) -> anyhow::Result<()> {
    let existing: Vec<String> =
        sqlx::query_scalar("SELECT name FROM customers WHERE deleted_at IS NULL ORDER BY id DESC LIMIT $1")
            .bind((rows / 20 + 1) as i64)
            .fetch_all(db)
            .await?;
    let industries: Vec<String> =
        sqlx::query_scalar("SELECT label_zh FROM dict_items WHERE dict = 'industry' AND enabled ORDER BY position")
            .fetch_all(db)
            .await?;
    let run = chrono::Utc::now().format("%H%M%S").to_string();
    let mut book = Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory()?;
    for (c, h) in ["*客户名称", "手机", "所属行业", "备注说明"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for i in 0..rows {
        let r = i as u32 + 1;
        let name = match existing.get(i / 20) {
            Some(old) if i % 20 == 0 => old.clone(),
            _ => format!("导入{run}测试{i:06}贸易有限公司"),
        };
        let industry =
            if i % 100 == 7 { "不存在的行业".to_string() } else { industries[i % industries.len()].clone() };
        sheet.write_string(r, 0, &name)?;
        sheet.write_string(r, 1, format!("139{:08}", (i as u64 * 7919 + 13) % 100_000_000))?;
        sheet.write_string(r, 2, &industry)?;
        sheet.write_string(r, 3, "benchmark import")?;
    }
    book.save(out)?;
    Ok(())
}
