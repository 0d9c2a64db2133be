//! Dictionary admin SQL. Reading items for other modules goes through `crate::dicts`.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::model::DictRow;
use crate::dicts::{DictItem, ITEM_COLUMNS};

const DICT_SELECT: &str = "SELECT d.code, d.name_zh, d.name_en, d.is_tree, d.extras,
        count(i.id) AS items, count(i.id) FILTER (WHERE i.enabled) AS enabled
   FROM dicts d LEFT JOIN dict_items i ON i.dict = d.code";

pub async fn list(db: &PgPool) -> sqlx::Result<Vec<DictRow>> {
    sqlx::query_as(&format!("{DICT_SELECT} GROUP BY d.code ORDER BY d.position, d.code")).fetch_all(db).await
}

pub async fn find_dict(db: &mut PgConnection, code: &str) -> sqlx::Result<Option<DictRow>> {
    sqlx::query_as(&format!("{DICT_SELECT} WHERE d.code = $1 GROUP BY d.code")).bind(code).fetch_optional(db).await
}

/// Every item of the dictionary, enabled or not.
pub async fn items(db: &mut PgConnection, dict: &str) -> sqlx::Result<Vec<DictItem>> {
    sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM dict_items WHERE dict = $1 ORDER BY position, id"))
        .bind(dict)
        .fetch_all(db)
        .await
}

/// The item, locked for the rest of the transaction; None when it is not in `dict`.
pub async fn find_item(db: &mut PgConnection, dict: &str, id: i64) -> sqlx::Result<Option<DictItem>> {
    sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM dict_items WHERE id = $1 AND dict = $2 FOR UPDATE"))
        .bind(id)
        .bind(dict)
        .fetch_optional(db)
        .await
}

/// The item and everything below it.
pub async fn subtree_ids(db: &mut PgConnection, id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "WITH RECURSIVE t AS (SELECT id FROM dict_items WHERE id = $1
           UNION SELECT c.id FROM dict_items c JOIN t ON c.parent_id = t.id)
         SELECT id FROM t",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn label_of(db: &mut PgConnection, id: Option<i64>) -> sqlx::Result<Option<String>> {
    match id {
        None => Ok(None),
        Some(id) => {
            sqlx::query_scalar("SELECT label_zh FROM dict_items WHERE id = $1").bind(id).fetch_optional(db).await
        }
    }
}

/// The position after the last sibling under `parent`.
async fn next_position(db: &mut PgConnection, dict: &str, parent: Option<i64>) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "SELECT COALESCE(max(position), 0) + 1 FROM dict_items
          WHERE dict = $1 AND parent_id IS NOT DISTINCT FROM $2",
    )
    .bind(dict)
    .bind(parent)
    .fetch_one(db)
    .await
}

pub struct NewItem<'a> {
    pub dict: &'a str,
    pub parent_id: Option<i64>,
    pub label_zh: &'a str,
    pub label_en: &'a str,
    pub extra: &'a Value,
}

/// Insert at the end of its siblings; returns (id, position).
pub async fn insert(db: &mut PgConnection, n: &NewItem<'_>) -> sqlx::Result<(i64, i32)> {
    let position = next_position(db, n.dict, n.parent_id).await?;
    let id = sqlx::query_scalar(
        "INSERT INTO dict_items (dict, parent_id, label_zh, label_en, position, extra)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(n.dict)
    .bind(n.parent_id)
    .bind(n.label_zh)
    .bind(n.label_en)
    .bind(position)
    .bind(n.extra)
    .fetch_one(db)
    .await?;
    Ok((id, position))
}

/// Save labels, parent and extras. A new parent puts the item at the end of its new siblings;
/// returns the position it ends at.
pub async fn update(
    db: &mut PgConnection,
    old: &DictItem,
    parent_id: Option<i64>,
    label_zh: &str,
    label_en: &str,
    extra: &Value,
) -> sqlx::Result<i32> {
    let position =
        if parent_id == old.parent_id { old.position } else { next_position(db, &old.dict, parent_id).await? };
    sqlx::query(
        "UPDATE dict_items SET parent_id = $2, label_zh = $3, label_en = $4, extra = $5, position = $6
          WHERE id = $1",
    )
    .bind(old.id)
    .bind(parent_id)
    .bind(label_zh)
    .bind(label_en)
    .bind(extra)
    .bind(position)
    .execute(db)
    .await?;
    Ok(position)
}

pub async fn set_enabled(db: &mut PgConnection, id: i64, enabled: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE dict_items SET enabled = $2 WHERE id = $1").bind(id).bind(enabled).execute(db).await?;
    Ok(())
}

/// (id, position) of the item and its siblings in display order, locked.
pub async fn siblings(db: &mut PgConnection, dict: &str, parent: Option<i64>) -> sqlx::Result<Vec<(i64, i32)>> {
    sqlx::query_as(
        "SELECT id, position FROM dict_items
          WHERE dict = $1 AND parent_id IS NOT DISTINCT FROM $2
          ORDER BY position, id FOR UPDATE",
    )
    .bind(dict)
    .bind(parent)
    .fetch_all(db)
    .await
}

pub async fn set_position(db: &mut PgConnection, id: i64, position: i32) -> sqlx::Result<()> {
    sqlx::query("UPDATE dict_items SET position = $2 WHERE id = $1").bind(id).bind(position).execute(db).await?;
    Ok(())
}

pub async fn delete(db: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM dict_items WHERE id = $1").bind(id).execute(db).await?;
    Ok(())
}
