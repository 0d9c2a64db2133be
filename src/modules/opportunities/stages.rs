//! Stage groups (商机组) as opportunities read them: a group's ordered stages with their win
//! rates, and which group applies to an owner (their department's, or the nearest department
//! above it with one, or the default group). The admin page (`admin/stages`) changes them
//! through `save_*` here.

use sqlx::{PgConnection, PgPool};

use crate::web::i18n::Lang;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Stage {
    pub id: i64,
    pub group_id: i64,
    pub name_zh: String,
    pub name_en: String,
    pub win_rate: i16,
    pub position: i32,
}

impl Stage {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.name_zh,
            Lang::En => &self.name_en,
        }
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
    pub position: i32,
}

/// Every stage group, default first.
pub async fn groups(db: &PgPool) -> sqlx::Result<Vec<Group>> {
    sqlx::query_as("SELECT id, name, is_default, position FROM stage_groups ORDER BY is_default DESC, position, id")
        .fetch_all(db)
        .await
}

/// The stages of a group, in order.
pub async fn of_group(conn: &mut PgConnection, group_id: i64) -> sqlx::Result<Vec<Stage>> {
    sqlx::query_as(
        "SELECT id, group_id, name_zh, name_en, win_rate, position FROM stages WHERE group_id = $1 ORDER BY position, id",
    )
    .bind(group_id)
    .fetch_all(conn)
    .await
}

/// Every stage of every group (names and rates for lists and totals: a few dozen rows).
pub async fn all(db: &PgPool) -> sqlx::Result<Vec<Stage>> {
    sqlx::query_as(
        "SELECT id, group_id, name_zh, name_en, win_rate, position FROM stages ORDER BY group_id, position, id",
    )
    .fetch_all(db)
    .await
}

/// The group for records owned by `owner`: the nearest department up from theirs that has one,
/// else the default group.
pub async fn group_for_owner(conn: &mut PgConnection, owner: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "WITH RECURSIVE up AS (
           SELECT d.id, d.parent_id, 0 AS depth FROM departments d JOIN users u ON u.dept_id = d.id WHERE u.id = $1
           UNION ALL
           SELECT d.id, d.parent_id, up.depth + 1 FROM departments d JOIN up ON d.id = up.parent_id
         )
         SELECT coalesce(
           (SELECT g.group_id FROM up JOIN stage_group_depts g ON g.dept_id = up.id ORDER BY up.depth LIMIT 1),
           (SELECT id FROM stage_groups WHERE is_default))",
    )
    .bind(owner)
    .fetch_one(conn)
    .await
}

/// Live opportunities at each stage of a group (a stage in use cannot be deleted).
pub async fn use_counts(db: &PgPool, group_id: i64) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "SELECT s.id, count(o.id) FROM stages s LEFT JOIN opportunities o ON o.stage_id = s.id
          WHERE s.group_id = $1 GROUP BY s.id",
    )
    .bind(group_id)
    .fetch_all(db)
    .await
}

/// Stage names and rates by id, for pages that show opportunities of several groups.
pub struct StageNames(pub Vec<Stage>);

impl StageNames {
    pub async fn load(db: &PgPool) -> sqlx::Result<StageNames> {
        Ok(StageNames(all(db).await?))
    }

    pub fn get(&self, id: i64) -> Option<&Stage> {
        self.0.iter().find(|s| s.id == id)
    }

    pub fn name(&self, id: i64, lang: Lang) -> String {
        self.get(id).map(|s| s.name(lang).to_string()).unwrap_or_default()
    }

    pub fn of_group(&self, group_id: i64) -> Vec<&Stage> {
        self.0.iter().filter(|s| s.group_id == group_id).collect()
    }
}
