//! Dictionaries kernel (see src/modules/admin/dicts for the admin pages).
//!
//! Every option list a module offers (statuses, categories, regions, sources, follow-up
//! methods...) is a dictionary: `dicts` rows with ordered `dict_items`. Records store the item id
//! through a foreign key to `dict_items(id)`. A handler loads the dictionaries it needs once per
//! request with [`Dicts::load`] (no cache, so admin edits apply at once), then uses
//! [`Dicts::options`] for selects, [`Dicts::allows`] to validate a submitted value and
//! [`Dicts::label`] to show one.
//!
//! Disabled items stay readable: a record that already holds one keeps showing it (and keeps it
//! when saved), but new values must be enabled items. An item counts as enabled only when its
//! ancestors are too (disabling a province disables its cities for new picks).

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, PgPool};

use crate::web::{SelectOpt, i18n::Lang};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DictItem {
    pub id: i64,
    pub dict: String,
    pub parent_id: Option<i64>,
    pub code: Option<String>,
    pub label_zh: String,
    pub label_en: String,
    pub position: i32,
    pub enabled: bool,
    pub extra: serde_json::Value,
}

impl DictItem {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.label_zh,
            Lang::En => &self.label_en,
        }
    }

    /// A boolean extra (`{"can_freeze": true}`); missing or not a boolean → false.
    pub fn flag(&self, key: &str) -> bool {
        self.extra.get(key).and_then(serde_json::Value::as_bool).unwrap_or(false)
    }

    /// An extra as text: strings as they are (decimals are stored as strings, e.g. "500000.00"),
    /// numbers and booleans printed; missing, null or empty → None.
    pub fn extra_str(&self, key: &str) -> Option<String> {
        match self.extra.get(key)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) if s.is_empty() => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// The items of some dictionaries, loaded once per request (no cache: admin edits apply at once).
#[derive(Clone, Debug, Default)]
pub struct Dicts {
    items: Vec<DictItem>,
    /// Item id → index in `items`.
    by_id: HashMap<i64, usize>,
    /// Dictionary code → indexes in display order (tree dictionaries: depth-first).
    order: HashMap<String, Vec<usize>>,
    /// Depth in the tree (0 for roots and flat dictionaries), by index.
    depth: Vec<usize>,
    /// Enabled and every ancestor enabled, by index.
    active: Vec<bool>,
}

pub const ITEM_COLUMNS: &str = "id, dict, parent_id, code, label_zh, label_en, position, enabled, extra";

impl Dicts {
    pub async fn load(db: &PgPool, codes: &[&str]) -> sqlx::Result<Dicts> {
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        let rows: Vec<DictItem> = sqlx::query_as(&format!(
            "SELECT {ITEM_COLUMNS} FROM dict_items WHERE dict = ANY($1) ORDER BY dict, position, id"
        ))
        .bind(&codes)
        .fetch_all(db)
        .await?;
        Ok(Dicts::from_items(rows))
    }

    /// Build from rows (any order); used by `load` and by the admin pages.
    pub fn from_items(mut items: Vec<DictItem>) -> Dicts {
        items.sort_by(|a, b| (&a.dict, a.position, a.id).cmp(&(&b.dict, b.position, b.id)));
        let by_id: HashMap<i64, usize> = items.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        // Children by parent index, in position order (items are sorted already). An item whose
        // parent is missing or in another dictionary is treated as a root.
        let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut roots: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            let parent =
                it.parent_id.and_then(|p| by_id.get(&p).copied()).filter(|&p| items[p].dict == it.dict && p != i);
            match parent {
                Some(p) => children.entry(p).or_default().push(i),
                None => roots.entry(it.dict.as_str()).or_default().push(i),
            }
        }
        let mut depth = vec![0; items.len()];
        let mut active = vec![false; items.len()];
        let mut seen = HashSet::new();
        let mut order: HashMap<String, Vec<usize>> = HashMap::new();
        for (dict, top) in &roots {
            let mut out = Vec::new();
            // Depth-first, keeping sibling order: a stack of (index, depth, parent active).
            let mut stack: Vec<(usize, usize, bool)> = top.iter().rev().map(|&i| (i, 0, true)).collect();
            while let Some((i, d, parent_active)) = stack.pop() {
                if !seen.insert(i) {
                    continue;
                }
                depth[i] = d;
                active[i] = parent_active && items[i].enabled;
                out.push(i);
                if let Some(kids) = children.get(&i) {
                    stack.extend(kids.iter().rev().map(|&k| (k, d + 1, active[i])));
                }
            }
            order.insert(dict.to_string(), out);
        }
        // Items on a parent cycle (only reachable through bad data) still show, as roots.
        for (i, it) in items.iter().enumerate() {
            if !seen.contains(&i) {
                active[i] = it.enabled;
                order.entry(it.dict.clone()).or_default().push(i);
            }
        }
        Dicts { items, by_id, order, depth, active }
    }

    fn indexes(&self, dict: &str) -> &[usize] {
        self.order.get(dict).map(Vec::as_slice).unwrap_or(&[])
    }

    /// All items of `dict`, enabled or not, by position (tree dictionaries: depth-first).
    /// An item as the history keeps it: its label in both languages (null for none).
    pub fn audit_value(&self, id: Option<i64>) -> serde_json::Value {
        match id.and_then(|i| self.get(i)) {
            Some(item) => serde_json::json!({ "zh": item.label_zh, "en": item.label_en }),
            None => serde_json::Value::Null,
        }
    }

    /// The item and everything below it in a tree dictionary (a province and its cities).
    pub fn with_descendants(&self, dict: &str, id: i64) -> Vec<i64> {
        let items = self.items(dict);
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            out.extend(items.iter().filter(|it| it.parent_id == Some(parent)).map(|it| it.id));
            i += 1;
        }
        out
    }

    pub fn items(&self, dict: &str) -> Vec<&DictItem> {
        self.indexes(dict).iter().map(|&i| &self.items[i]).collect()
    }

    pub fn get(&self, id: i64) -> Option<&DictItem> {
        self.by_id.get(&id).map(|&i| &self.items[i])
    }

    /// The item's label; "" for None or an id not loaded.
    pub fn label(&self, id: Option<i64>, lang: Lang) -> String {
        id.and_then(|id| self.get(id)).map(|it| it.label(lang).to_string()).unwrap_or_default()
    }

    /// The labels from the root down, e.g. "广东 / 深圳"; "" for None or an id not loaded.
    pub fn path_label(&self, id: Option<i64>, lang: Lang) -> String {
        let mut parts = Vec::new();
        let mut cur = id.and_then(|id| self.by_id.get(&id).copied());
        while let Some(i) = cur {
            if parts.len() > 32 {
                break;
            }
            parts.push(self.items[i].label(lang));
            cur = self.items[i]
                .parent_id
                .and_then(|p| self.by_id.get(&p).copied())
                .filter(|&p| self.items[p].dict == self.items[i].dict && p != i);
        }
        parts.reverse();
        parts.join(" / ")
    }

    /// Depth in its tree (0 for roots and items of flat dictionaries).
    pub fn depth(&self, id: i64) -> usize {
        self.by_id.get(&id).map(|&i| self.depth[i]).unwrap_or(0)
    }

    /// Whether new records may pick the item: it and all its ancestors are enabled.
    pub fn is_active(&self, id: i64) -> bool {
        self.by_id.get(&id).is_some_and(|&i| self.active[i])
    }

    /// Select options: enabled items, plus `current` even when disabled (label gets
    /// "（已停用）"/" (disabled)"); tree dictionaries indented by depth with "　" per level, label
    /// of a city = city name only.
    pub fn options(&self, dict: &str, lang: Lang, current: Option<i64>) -> Vec<SelectOpt> {
        self.indexes(dict)
            .iter()
            .filter(|&&i| self.active[i] || Some(self.items[i].id) == current)
            .map(|&i| {
                let it = &self.items[i];
                let label = if self.active[i] {
                    it.label(lang).to_string()
                } else {
                    lang.tf("dicts.disabled_label", &[("label", it.label(lang))])
                };
                SelectOpt::new(it.id, format!("{}{label}", "　".repeat(self.depth[i])))
            })
            .collect()
    }

    /// May a record now hold `id` in `dict`: an enabled item of that dictionary, or the value it
    /// already had.
    pub fn allows(&self, dict: &str, id: i64, current: Option<i64>) -> bool {
        if current == Some(id) {
            return true;
        }
        self.by_id.get(&id).is_some_and(|&i| self.items[i].dict == dict && self.active[i])
    }

    /// The lowest-position enabled item (e.g. the status a new customer starts at).
    pub fn first(&self, dict: &str) -> Option<&DictItem> {
        self.indexes(dict).iter().find(|&&i| self.active[i]).map(|&i| &self.items[i])
    }

    /// The next enabled item after `id` by position (e.g. the next customer status up).
    pub fn next_after(&self, dict: &str, id: i64) -> Option<&DictItem> {
        let order = self.indexes(dict);
        let at = order.iter().position(|&i| self.items[i].id == id)?;
        order[at + 1..].iter().find(|&&i| self.active[i]).map(|&i| &self.items[i])
    }

    pub fn by_code(&self, dict: &str, code: &str) -> Option<&DictItem> {
        self.indexes(dict).iter().map(|&i| &self.items[i]).find(|it| it.code.as_deref() == Some(code))
    }
}

/// One foreign key column pointing at `dict_items(id)`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Reference {
    pub schema: String,
    pub table: String,
    pub column: String,
}

/// Every single-column foreign key referencing `dict_items`, read from the catalog (so tables
/// added by later migrations count without registering anywhere).
pub async fn references(conn: &mut PgConnection) -> sqlx::Result<Vec<Reference>> {
    sqlx::query_as(
        "SELECT n.nspname::text AS schema, t.relname::text AS \"table\", a.attname::text AS \"column\"
           FROM pg_constraint c
           JOIN pg_class t ON t.oid = c.conrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          WHERE c.contype = 'f' AND c.confrelid = 'dict_items'::regclass
            AND array_length(c.conkey, 1) = 1
          ORDER BY 1, 2, 3",
    )
    .fetch_all(conn)
    .await
}

/// A catalog identifier quoted for SQL. The names come from pg_catalog, never from users.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Array columns holding dict item ids, which no foreign key can cover: (table, column).
/// Register a column here when a migration adds one.
const ARRAY_REFERENCES: &[(&str, &str)] = &[("pool_rules", "status_ids")];

/// Whether anything references the item: any foreign key pointing at dict_items(id) (found through
/// pg_constraint, so tables added later count automatically), including child items, and the
/// `ARRAY_REFERENCES`.
pub async fn in_use(conn: &mut PgConnection, item_id: i64) -> sqlx::Result<bool> {
    for (table, column) in ARRAY_REFERENCES {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE $1 = ANY({column}))");
        if sqlx::query_scalar::<_, bool>(&sql).bind(item_id).fetch_one(&mut *conn).await? {
            return Ok(true);
        }
    }
    for r in references(&mut *conn).await? {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {}.{} WHERE {} = $1)",
            quote_ident(&r.schema),
            quote_ident(&r.table),
            quote_ident(&r.column)
        );
        let used: bool = sqlx::query_scalar(&sql).bind(item_id).fetch_one(&mut *conn).await?;
        if used {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: i64, dict: &str, parent: Option<i64>, pos: i32, enabled: bool) -> DictItem {
        DictItem {
            id,
            dict: dict.into(),
            parent_id: parent,
            code: Some(format!("c{id}")),
            label_zh: format!("项{id}"),
            label_en: format!("Item {id}"),
            position: pos,
            enabled,
            extra: json!({}),
        }
    }

    #[test]
    fn tree_order_depth_and_inherited_disable() {
        let d = Dicts::from_items(vec![
            item(5, "r", Some(1), 2, true),
            item(1, "r", None, 2, true),
            item(2, "r", None, 1, false),
            item(3, "r", Some(2), 1, true),
            item(4, "r", Some(1), 1, true),
            item(9, "s", None, 1, true),
        ]);
        let ids: Vec<i64> = d.items("r").iter().map(|i| i.id).collect();
        assert_eq!(ids, vec![2, 3, 1, 4, 5]);
        assert_eq!(d.depth(4), 1);
        // 3 is enabled but under a disabled parent.
        assert!(!d.allows("r", 3, None));
        assert!(d.allows("r", 3, Some(3)));
        assert!(!d.allows("s", 4, None));
        let opts = d.options("r", Lang::Zh, None);
        assert_eq!(opts.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(), vec!["项1", "　项4", "　项5"]);
        assert_eq!(d.first("r").unwrap().id, 1);
        assert_eq!(d.next_after("r", 1).unwrap().id, 4);
        assert_eq!(d.path_label(Some(5), Lang::En), "Item 1 / Item 5");
        assert_eq!(d.label(None, Lang::Zh), "");
        assert_eq!(d.by_code("s", "c9").unwrap().id, 9);
    }

    #[test]
    fn extras() {
        let mut it = item(1, "x", None, 1, true);
        it.extra = json!({"can_freeze": true, "credit_limit": "500000.00", "days": 30, "e": ""});
        assert!(it.flag("can_freeze"));
        assert!(!it.flag("credit_limit"));
        assert_eq!(it.extra_str("credit_limit").as_deref(), Some("500000.00"));
        assert_eq!(it.extra_str("days").as_deref(), Some("30"));
        assert_eq!(it.extra_str("e"), None);
        assert_eq!(it.extra_str("missing"), None);
    }
}
