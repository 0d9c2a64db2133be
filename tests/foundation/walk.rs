//! What the route-table suites (CSRF, fuzz) walk over: the demo company, and for every path
//! parameter of every route a value that names something that exists — the route table and the
//! record registry say which table an `{id}` is in, so a new module's routes are walked with
//! real ids without being listed here.

use std::collections::{BTreeMap, HashMap};

use crate::common::{Client, TestApp};

pub struct World {
    pub app: TestApp,
    /// `{param}` values by (path up to the parameter, parameter name).
    values: HashMap<String, String>,
    tables: Vec<String>,
}

/// Path segments whose `{id}` lives in a table not named after the segment.
const TABLE_OF_SEGMENT: &[(&str, &str)] = &[
    ("approvals", "approval_instances"),
    ("imports", "import_batches"),
    ("fields", "field_defs"),
    ("flows", "approval_flows"),
    ("stages", "stage_groups"),
    ("caps", "customer_caps"),
    ("items", "dict_items"),
    ("steps", "approval_steps"),
    ("rules", "pool_rules"),
    ("plans", "payment_plans"),
    ("subtasks", "task_subtasks"),
    ("shares", "record_shares"),
    ("team", "users"),
    ("customers", "customers"),
];

impl World {
    /// A fresh database holding the demo company.
    pub async fn demo() -> World {
        crate::common::init_logging();
        let app = TestApp::new().await;
        crm::seed::demo::seed(&app.db).await.unwrap();
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                .fetch_all(&app.db)
                .await
                .unwrap();
        World { app, values: HashMap::new(), tables }
    }

    pub async fn admin(&self) -> Client {
        let mut c = self.app.client();
        let r = c.login(crm::seed::demo::ADMIN.0, crm::seed::demo::ADMIN.1).await;
        assert!(r.status.is_redirection(), "demo admin login: {}", r.status);
        c
    }

    /// The table an `{id}`-like parameter after `prefix` (`/customers`, `/admin/pools/3/rules`)
    /// points into: a registered record kind's, else one named after the last literal segment.
    fn table_for(&self, prefix: &str, param: &str) -> Option<String> {
        let registry = crm::app::install();
        if let Some(def) = registry.records().find(|d| d.path == prefix) {
            return Some(def.table.to_string());
        }
        let by_param = match param {
            "user_id" => Some("users"),
            "stage_id" => Some("stages"),
            "step_id" => Some("approval_steps"),
            "rule_id" => Some("pool_rules"),
            "share_id" => Some("record_shares"),
            "plan" => Some("payment_plans"),
            "sub" => Some("task_subtasks"),
            _ => None,
        };
        if let Some(t) = by_param {
            return Some(t.to_string());
        }
        let seg = prefix.rsplit('/').next().unwrap_or_default();
        let table = TABLE_OF_SEGMENT.iter().find(|(s, _)| *s == seg).map(|(_, t)| t.to_string());
        let table = table.unwrap_or_else(|| seg.replace('-', "_"));
        self.tables.contains(&table).then_some(table)
    }

    /// The value of one parameter: the smallest id in its table (not the signed-in admin for
    /// users: the walk must not disable itself), a dictionary's code, a tag's id; "1" otherwise.
    async fn value_for(&mut self, prefix: &str, param: &str) -> String {
        let key = format!("{prefix}|{param}");
        if let Some(v) = self.values.get(&key) {
            return v.clone();
        }
        let db = &self.app.db;
        let v: Option<String> = match (param, self.table_for(prefix, param)) {
            ("code", _) => sqlx::query_scalar("SELECT min(code) FROM dicts").fetch_one(db).await.unwrap(),
            ("kind", _) => sqlx::query_scalar("SELECT min(kind) FROM number_rules").fetch_one(db).await.ok().flatten(),
            ("tag", _) => sqlx::query_scalar("SELECT min(id)::text FROM task_tags").fetch_one(db).await.unwrap(),
            (_, Some(t)) if t == "users" => {
                sqlx::query_scalar("SELECT min(id)::text FROM users WHERE login <> 'admin'")
                    .fetch_one(db)
                    .await
                    .unwrap()
            }
            (_, Some(t)) => sqlx::query_scalar(&format!("SELECT min(id)::text FROM {t}")).fetch_one(db).await.unwrap(),
            _ => None,
        };
        let v = v.unwrap_or_else(|| "1".into());
        self.values.insert(key, v.clone());
        v
    }

    /// `path` with every parameter replaced by a value that exists; `bad` (when given) replaces
    /// parameter number `bad.0` instead with `bad.1`.
    pub async fn fill(&mut self, path: &str, bad: Option<(usize, &str)>) -> String {
        let mut out = String::new();
        let mut n = 0;
        let mut rest = path;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').unwrap();
            let param = &rest[open + 1..close];
            let value = match bad {
                Some((i, v)) if i == n => v.to_string(),
                _ => self.value_for(out.trim_end_matches('/'), param).await,
            };
            out.push_str(&value);
            n += 1;
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

pub fn params(path: &str) -> usize {
    path.matches('{').count()
}

/// The tables whose digests differ.
pub fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    after.iter().filter(|(t, d)| before.get(*t) != Some(d)).map(|(t, _)| t.clone()).collect()
}

/// Every name a form or filter of the app sends, read from the templates (so a new form's
/// fields are walked without being listed here).
pub fn input_names() -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut files = Vec::new();
    collect(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        for part in text.split("name=\"").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() && part[name.len()..].starts_with('"') && name != "_csrf" {
                names.insert(name);
            }
        }
    }
    names.into_iter().collect()
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}
