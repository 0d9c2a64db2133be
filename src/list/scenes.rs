//! Scenes: the system ones every list has, and filters a user saved under a name.

use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::auth::CurrentUser;
use crate::error::ResultExt;
use crate::web::i18n::Lang;

/// The system scenes. `All` = everything the user's scope shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scene {
    All,
    Mine,
    Subordinates,
    /// Records whose team the user is on (我参与的), for kinds with teams.
    Team,
    Starred,
    Shared,
}

impl Scene {
    pub const ALL: &'static [Scene] =
        &[Scene::All, Scene::Mine, Scene::Subordinates, Scene::Team, Scene::Starred, Scene::Shared];

    pub fn code(self) -> &'static str {
        match self {
            Scene::All => "all",
            Scene::Mine => "mine",
            Scene::Subordinates => "subordinates",
            Scene::Team => "team",
            Scene::Starred => "starred",
            Scene::Shared => "shared",
        }
    }

    pub fn from_code(code: &str) -> Option<Scene> {
        Scene::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// Whether a list of `def` offers this scene: owners' scenes for owned kinds, "on my team"
    /// and "shared with me" for kinds with teams and shares.
    pub fn applies_to(self, def: &crate::records::RecordDef) -> bool {
        match self {
            Scene::All | Scene::Starred => true,
            Scene::Mine | Scene::Subordinates => def.owned,
            Scene::Team => def.features.team,
            Scene::Shared => def.features.share,
        }
    }

    pub fn label_key(self) -> String {
        format!("list.scene.{}", self.code())
    }

    /// ` AND <condition>` narrowing rows of `entity` (aliased `alias`) to this scene.
    pub fn push(self, qb: &mut QueryBuilder<'_, Postgres>, alias: &str, entity: &str, user: &CurrentUser) {
        match self {
            Scene::All => {}
            Scene::Mine => {
                qb.push(format_args!(" AND {alias}.owner_id = ")).push_bind(user.id);
            }
            Scene::Subordinates => {
                qb.push(format_args!(
                    " AND {alias}.owner_id = ANY(ARRAY(WITH RECURSIVE sub AS (
                        SELECT id FROM users WHERE superior_id = "
                ))
                .push_bind(user.id)
                .push(" UNION SELECT u.id FROM users u JOIN sub ON u.superior_id = sub.id) SELECT id FROM sub))");
            }
            Scene::Team => {
                qb.push(format_args!(
                    " AND {alias}.id = ANY(ARRAY(SELECT m.record_id FROM record_members m WHERE m.user_id = "
                ))
                .push_bind(user.id)
                .push(" AND m.entity = ")
                .push_bind(entity.to_string())
                .push(" AND (m.expires_at IS NULL OR m.expires_at > now())))");
            }
            Scene::Starred => {
                qb.push(format_args!(" AND {alias}.id = ANY(ARRAY(SELECT record_id FROM stars WHERE user_id = "))
                    .push_bind(user.id)
                    .push(" AND entity = ")
                    .push_bind(entity.to_string())
                    .push("))");
            }
            Scene::Shared => {
                qb.push(format_args!(" AND {alias}.id = ANY(ARRAY("));
                push_shared_ids(qb, entity, user);
                qb.push("))");
            }
        }
    }
}

/// `SELECT record_id` of records of `entity` shared (unexpired) with the user or with their own
/// department. A department share does not reach sub-departments (the scope predicate and the
/// share notifications agree, see `records::team::add_shares`).
pub fn push_shared_ids(qb: &mut QueryBuilder<'_, Postgres>, entity: &str, user: &CurrentUser) {
    qb.push("SELECT s.record_id FROM record_shares s WHERE s.entity = ")
        .push_bind(entity.to_string())
        .push(" AND (s.user_id = ")
        .push_bind(user.id)
        .push(" OR s.dept_id = ")
        .push_bind(user.dept_id)
        .push(") AND (s.expires_at IS NULL OR s.expires_at > now())");
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SavedScene {
    pub id: i64,
    pub name: String,
    pub query: String,
    pub is_default: bool,
}

pub async fn saved(db: &PgPool, user_id: i64, module: &str) -> sqlx::Result<Vec<SavedScene>> {
    sqlx::query_as("SELECT id, name, query, is_default FROM list_scenes WHERE user_id = $1 AND module = $2 ORDER BY id")
        .bind(user_id)
        .bind(module)
        .fetch_all(db)
        .await
}

/// The query string of the user's default saved scene, if any.
pub async fn default_query(db: &PgPool, user_id: i64, module: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT query FROM list_scenes WHERE user_id = $1 AND module = $2 AND is_default")
        .bind(user_id)
        .bind(module)
        .fetch_optional(db)
        .await
}

/// Where a list opened without a query string (`raw` empty) goes instead: the user's default
/// scene, when it narrows anything. A default saved from the unfiltered list has an empty query;
/// redirecting to `path?` would arrive without a query again and loop, so it is shown in place.
pub async fn default_redirect(
    db: &PgPool,
    user_id: i64,
    module: &str,
    path: &str,
    raw: &str,
) -> sqlx::Result<Option<String>> {
    if !raw.is_empty() {
        return Ok(None);
    }
    let Some(q) = default_query(db, user_id, module).await? else {
        return Ok(None);
    };
    let q = strip_paging(&q);
    Ok((!q.is_empty()).then(|| format!("{path}?{q}")))
}

/// Save the list's current filter (its query string, minus paging) under a name; a name
/// already used by the user is overwritten.
pub async fn save(db: &PgPool, user_id: i64, module: &str, name: &str, query: &str) -> sqlx::Result<i64> {
    let query = strip_paging(query);
    sqlx::query_scalar(
        "INSERT INTO list_scenes (user_id, module, name, query) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, module, name) DO UPDATE SET query = EXCLUDED.query RETURNING id",
    )
    .bind(user_id)
    .bind(module)
    .bind(name.trim())
    .bind(query)
    .fetch_one(db)
    .await
}

pub async fn rename(db: &PgPool, user_id: i64, id: i64, name: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE list_scenes SET name = $3 WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .bind(name.trim())
        .execute(db)
        .await;
    // The user already has a scene with that name: not renamed.
    Ok(r.on_constraint("list_scenes_user_id_module_name_key", || ())?.is_ok_and(|done| done.rows_affected() == 1))
}

pub async fn delete(db: &PgPool, user_id: i64, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM list_scenes WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).execute(db).await?;
    Ok(())
}

/// Make a saved scene the default (or clear the default with `None`).
pub async fn set_default(db: &PgPool, user_id: i64, module: &str, id: Option<i64>) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE list_scenes SET is_default = false WHERE user_id = $1 AND module = $2 AND is_default")
        .bind(user_id)
        .bind(module)
        .execute(&mut *tx)
        .await?;
    if let Some(id) = id {
        sqlx::query("UPDATE list_scenes SET is_default = true WHERE id = $1 AND user_id = $2 AND module = $3")
            .bind(id)
            .bind(user_id)
            .bind(module)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

pub fn strip_paging(query: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .filter(|(k, v)| !matches!(k.as_ref(), "page" | "per_page" | "_csrf") && !v.is_empty()),
        )
        .finish()
}

/// A tab in the scene bar.
#[derive(Clone, Debug)]
pub struct SceneTab {
    pub label: String,
    pub href: String,
    pub active: bool,
    /// Saved scenes carry their id (for rename / delete / default).
    pub saved_id: Option<i64>,
    pub is_default: bool,
}

/// The scene bar: system scenes, then the user's saved ones; the active one is the scene whose
/// query string equals the current one (ignoring paging and sorting).
/// `team`: the list's kind has teams (the "I'm on the team" scene is offered).
pub fn tabs(
    path: &str,
    raw_query: &str,
    saved: &[SavedScene],
    lang: Lang,
    offered: impl Fn(Scene) -> bool,
) -> Vec<SceneTab> {
    let current = normalise(raw_query);
    let mut out: Vec<SceneTab> = Scene::ALL
        .iter()
        .filter(|s| offered(**s))
        .map(|s| {
            let q = if *s == Scene::All { String::new() } else { format!("scene={}", s.code()) };
            SceneTab {
                label: lang.t(&s.label_key()).to_string(),
                href: if q.is_empty() { format!("{path}?scene=all") } else { format!("{path}?{q}") },
                active: current == normalise(&q) || (*s == Scene::All && current == "scene=all"),
                saved_id: None,
                is_default: false,
            }
        })
        .collect();
    for sc in saved {
        out.push(SceneTab {
            label: sc.name.clone(),
            href: format!("{path}?{}", sc.query),
            active: current == normalise(&sc.query),
            saved_id: Some(sc.id),
            is_default: sc.is_default,
        });
    }
    // A saved scene that matches wins over a system one with the same query.
    if out.iter().filter(|t| t.active).count() > 1 {
        for t in out.iter_mut().filter(|t| t.saved_id.is_none()) {
            t.active = false;
        }
    }
    out
}

fn normalise(q: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(q.trim_start_matches('?').as_bytes())
        .into_owned()
        .filter(|(k, v)| !matches!(k.as_str(), "page" | "per_page" | "sort" | "dir") && !v.is_empty())
        .collect();
    pairs.sort();
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}
