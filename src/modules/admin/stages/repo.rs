//! Stage group SQL for the admin pages (reads of groups and stages are in
//! `opportunities::stages`).

use sqlx::{PgConnection, PgPool};

/// A group as the index lists it: (id, name, default, departments, opportunities using it).
#[derive(sqlx::FromRow)]
pub struct GroupLine {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
    pub depts: Vec<String>,
    pub opportunities: i64,
}

pub async fn lines(db: &PgPool) -> sqlx::Result<Vec<GroupLine>> {
    sqlx::query_as(
        "SELECT g.id, g.name, g.is_default,
                coalesce(ARRAY(SELECT d.name FROM stage_group_depts sd JOIN departments d ON d.id = sd.dept_id
                                WHERE sd.group_id = g.id ORDER BY d.sort, d.name), '{}') AS depts,
                (SELECT count(*) FROM opportunities o WHERE o.group_id = g.id) AS opportunities
           FROM stage_groups g ORDER BY g.is_default DESC, g.position, g.id",
    )
    .fetch_all(db)
    .await
}

/// Lock every group row: group changes (default, departments) are rare and must not interleave.
pub async fn lock_groups(tx: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT 1 FROM stage_groups ORDER BY id FOR UPDATE").execute(tx).await?;
    Ok(())
}

/// A new group with a copy of the default group's stages (a starting point to edit).
pub async fn insert(tx: &mut PgConnection, name: &str) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO stage_groups (name, position) SELECT $1, coalesce(max(position), 0) + 1 FROM stage_groups RETURNING id",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO stages (group_id, name_zh, name_en, win_rate, position)
         SELECT $1, s.name_zh, s.name_en, s.win_rate, s.position FROM stages s
           JOIN stage_groups g ON g.id = s.group_id AND g.is_default",
    )
    .bind(id)
    .execute(tx)
    .await?;
    Ok(id)
}

pub async fn rename(tx: &mut PgConnection, id: i64, name: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE stage_groups SET name = $2 WHERE id = $1").bind(id).bind(name).execute(tx).await?;
    Ok(())
}

/// The departments the group applies to (taken from whichever group had them).
pub async fn set_depts(tx: &mut PgConnection, id: i64, depts: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM stage_group_depts WHERE group_id = $1 OR dept_id = ANY($2)")
        .bind(id)
        .bind(depts)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO stage_group_depts (dept_id, group_id) SELECT unnest($2::bigint[]), $1")
        .bind(id)
        .bind(depts)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn dept_ids(db: &PgPool, id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT dept_id FROM stage_group_depts WHERE group_id = $1").bind(id).fetch_all(db).await
}

/// Departments that belong to another group: (dept id, that group's name).
pub async fn taken_depts(db: &PgPool, id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT sd.dept_id, g.name FROM stage_group_depts sd JOIN stage_groups g ON g.id = sd.group_id
          WHERE sd.group_id <> $1",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn make_default(tx: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE stage_groups SET is_default = false WHERE is_default AND id <> $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE stage_groups SET is_default = true WHERE id = $1").bind(id).execute(tx).await?;
    Ok(())
}

pub async fn delete_group(tx: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM stages WHERE group_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM stage_groups WHERE id = $1").bind(id).execute(tx).await?;
    Ok(())
}

/// A stage as saved from the form.
pub struct StageInput {
    /// None: a new stage.
    pub id: Option<i64>,
    pub name_zh: String,
    pub name_en: String,
    pub win_rate: i16,
}

/// Save the group's stages in the given order: existing ones are renamed, re-rated and
/// re-ordered in place (opportunities at them stay valid); new ones are added.
pub async fn save_stages(tx: &mut PgConnection, group: i64, stages: &[StageInput]) -> sqlx::Result<()> {
    for (i, s) in stages.iter().enumerate() {
        let position = i as i32 + 1;
        match s.id {
            Some(id) => {
                sqlx::query(
                    "UPDATE stages SET name_zh = $3, name_en = $4, win_rate = $5, position = $6
                      WHERE id = $1 AND group_id = $2",
                )
                .bind(id)
                .bind(group)
                .bind(&s.name_zh)
                .bind(&s.name_en)
                .bind(s.win_rate)
                .bind(position)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO stages (group_id, name_zh, name_en, win_rate, position) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(group)
                .bind(&s.name_zh)
                .bind(&s.name_en)
                .bind(s.win_rate)
                .bind(position)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// Opportunities at a stage (live or in the recycle bin: both point at it).
pub async fn stage_use(conn: &mut PgConnection, stage: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM opportunities WHERE stage_id = $1").bind(stage).fetch_one(conn).await
}

pub async fn delete_stage(tx: &mut PgConnection, group: i64, stage: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM stages WHERE id = $1 AND group_id = $2")
        .bind(stage)
        .bind(group)
        .execute(&mut *tx)
        .await?;
    // Close the gap in the order.
    sqlx::query(
        "UPDATE stages s SET position = n.rn FROM (SELECT id, row_number() OVER (ORDER BY position, id) AS rn
           FROM stages WHERE group_id = $1) n WHERE s.id = n.id",
    )
    .bind(group)
    .execute(tx)
    .await?;
    Ok(done.rows_affected() > 0)
}
