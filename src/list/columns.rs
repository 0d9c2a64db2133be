//! Column choice: which columns a user sees on a list, in which order, remembered per user.

use sqlx::PgPool;

use crate::fields::FieldDef;
use crate::web::i18n::Lang;

/// A column a list can show. `key` is stable (custom fields: `cf:<key>`).
#[derive(Clone, Debug)]
pub struct Column {
    pub key: String,
    /// i18n key, or for custom fields the label itself (see `label_is_text`).
    pub label: String,
    pub label_is_text: bool,
    /// Sort key (see `SortKey`), when sortable.
    pub sort: Option<&'static str>,
    pub default_visible: bool,
}

impl Column {
    pub fn new(key: &str, label_key: &str, sort: Option<&'static str>, default_visible: bool) -> Column {
        Column { key: key.to_string(), label: label_key.to_string(), label_is_text: false, sort, default_visible }
    }

    /// A column per custom field (`cf:<key>`), hidden until chosen; they come last on every list.
    pub fn custom_fields(defs: &[FieldDef], lang: Lang) -> Vec<Column> {
        defs.iter()
            .map(|d| Column {
                key: format!("cf:{}", d.key),
                label: d.label(lang).to_string(),
                label_is_text: true,
                sort: None,
                default_visible: false,
            })
            .collect()
    }

    /// What the header says.
    pub fn label(&self, lang: Lang) -> String {
        if self.label_is_text { self.label.clone() } else { lang.t(&self.label).to_string() }
    }
}

/// The columns available, and the user's choice among them.
#[derive(Clone, Debug)]
pub struct ColumnChoice {
    pub available: Vec<Column>,
    /// Keys of the visible columns, in order.
    pub visible: Vec<String>,
}

impl ColumnChoice {
    pub async fn load(db: &PgPool, user_id: i64, module: &str, available: Vec<Column>) -> sqlx::Result<ColumnChoice> {
        let saved: Option<Vec<String>> =
            sqlx::query_scalar("SELECT columns FROM list_prefs WHERE user_id = $1 AND module = $2")
                .bind(user_id)
                .bind(module)
                .fetch_optional(db)
                .await?;
        let visible = match saved {
            // Columns that no longer exist (a deactivated custom field) drop out.
            Some(keys) => keys.into_iter().filter(|k| available.iter().any(|c| &c.key == k)).collect(),
            None => available.iter().filter(|c| c.default_visible).map(|c| c.key.clone()).collect(),
        };
        Ok(ColumnChoice { available, visible })
    }

    /// The visible columns, in the chosen order.
    pub fn columns(&self) -> Vec<Column> {
        self.visible.iter().filter_map(|k| self.available.iter().find(|c| &c.key == k).cloned()).collect()
    }

    pub fn is_visible(&self, key: &str) -> bool {
        self.visible.iter().any(|k| k == key)
    }

    /// Position (1-based) of a visible column, for the chooser form.
    pub fn position(&self, key: &str) -> usize {
        self.visible.iter().position(|k| k == key).map(|p| p + 1).unwrap_or(0)
    }
}

/// Save a choice: `keys` in the order wanted; unknown keys are dropped; at least one remains.
pub async fn save(db: &PgPool, user_id: i64, module: &str, available: &[Column], keys: &[String]) -> sqlx::Result<()> {
    let mut keys: Vec<String> = keys.iter().filter(|k| available.iter().any(|c| &c.key == *k)).cloned().collect();
    keys.dedup();
    // A list offering no columns at all (the calendar's) keeps none.
    if keys.is_empty()
        && let Some(first) = available.first()
    {
        keys.push(first.key.clone());
    }
    sqlx::query(
        "INSERT INTO list_prefs (user_id, module, columns) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, module) DO UPDATE SET columns = EXCLUDED.columns",
    )
    .bind(user_id)
    .bind(module)
    .bind(&keys)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn reset(db: &PgPool, user_id: i64, module: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM list_prefs WHERE user_id = $1 AND module = $2")
        .bind(user_id)
        .bind(module)
        .execute(db)
        .await?;
    Ok(())
}
