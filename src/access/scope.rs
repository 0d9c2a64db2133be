//! Data scopes. A user's roles grant, per module, a `ScopeKind`; on every request it is resolved
//! (no cache, so org changes apply at once) into the set of owners whose records the user sees.
//! `DataScope::push_visible` is the one SQL predicate every query on scoped records uses.

use std::collections::{BTreeSet, HashMap, HashSet};

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{Module, ScopeKind};
use crate::auth::CurrentUser;

#[derive(Clone, Debug)]
pub struct DataScope {
    pub user_id: i64,
    pub dept_id: i64,
    /// `None`: every record. `Some(owners)`: records owned by these users (sorted, distinct).
    pub owners: Option<Vec<i64>>,
    /// The records of one entity the user reaches through team places and shares, fetched ahead
    /// (`with_extras`); otherwise the predicate gathers them itself.
    pub extras: Option<(&'static str, Vec<i64>)>,
}

impl DataScope {
    /// Resolve the user's scope for `module`: the union over their roles (the widest wins).
    pub async fn resolve(db: &PgPool, user: &CurrentUser, module: Module) -> sqlx::Result<Self> {
        let kinds: Vec<ScopeKind> = if user.is_super {
            vec![ScopeKind::All]
        } else {
            let codes: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT rs.scope FROM user_roles ur
                 JOIN role_scopes rs ON rs.role_id = ur.role_id
                 WHERE ur.user_id = $1 AND rs.module = $2",
            )
            .bind(user.id)
            .bind(module.code())
            .fetch_all(db)
            .await?;
            codes.iter().filter_map(|c| ScopeKind::from_code(c)).collect()
        };
        let owners = owners_for(db, user.id, user.dept_id, &kinds).await?;
        Ok(DataScope { user_id: user.id, dept_id: user.dept_id, owners, extras: None })
    }

    /// This scope with the team and share ids of `entity` fetched now. Pages that aggregate
    /// over everything in scope (the opportunity board and forecast) use it: with no extras the
    /// predicate is the owner test alone, which an index can answer without reading rows.
    pub async fn with_extras(mut self, db: &PgPool, entity: &'static str) -> sqlx::Result<Self> {
        if self.owners.is_some() {
            let mut q = QueryBuilder::new("");
            self.push_extra_ids(&mut q, entity);
            self.extras = Some((entity, q.build_query_scalar().fetch_all(db).await?));
        }
        Ok(self)
    }

    /// The user's own records of `entity` only (what a to-do section lists): the owner test
    /// alone, no team or share lookups — one's own records are visible in every scope.
    pub fn own(user: &CurrentUser, entity: &'static str) -> DataScope {
        DataScope {
            user_id: user.id,
            dept_id: user.dept_id,
            owners: Some(vec![user.id]),
            extras: Some((entity, Vec::new())),
        }
    }

    pub fn is_all(&self) -> bool {
        self.owners.is_none()
    }

    pub fn owns(&self, owner_id: Option<i64>) -> bool {
        match (&self.owners, owner_id) {
            (None, _) => true,
            (Some(set), Some(o)) => set.binary_search(&o).is_ok(),
            (Some(_), None) => false,
        }
    }

    /// Append `(<alias> is visible)` for records of `entity` to a query. `alias` and `entity`
    /// are code constants, never user input; every value is bound.
    ///
    /// Visible = owned by someone in the owner set, OR the user is an unexpired team member,
    /// OR it is shared (unexpired) with the user or their department. The team/share ids are
    /// gathered into an array once (an InitPlan), so both arms stay index scans.
    pub fn push_visible(&self, qb: &mut QueryBuilder<'_, Postgres>, alias: &str, entity: &str) {
        self.push_visible_as(qb, (&format!("{alias}.owner_id"), &format!("{alias}.id")), entity);
    }

    /// The same test on rows that carry a record's owner and id in other columns (a contract's
    /// plan terms: `(p.owner_id, p.contract_id)`). Column expressions are code constants.
    pub fn push_visible_as(&self, qb: &mut QueryBuilder<'_, Postgres>, (owner, id): (&str, &str), entity: &str) {
        let Some(owners) = &self.owners else {
            qb.push(" TRUE ");
            return;
        };
        qb.push(format_args!(" ({owner} = ANY(")).push_bind(owners.clone());
        match &self.extras {
            Some((e, ids)) if *e == entity && ids.is_empty() => {
                qb.push(")) ");
            }
            Some((e, ids)) if *e == entity => {
                qb.push(format_args!(") OR {id} = ANY(")).push_bind(ids.clone()).push(")) ");
            }
            _ => {
                qb.push(format_args!(") OR {id} = ANY(ARRAY("));
                self.push_extra_ids(qb, entity);
                qb.push("))) ");
            }
        }
    }

    /// The predicate for records that hang under a parent (contacts under a customer): visible
    /// when owned by someone in scope, or when their parent's owner is (visibility follows the
    /// parent's scope; such records are flagged `owner_split`, see migration 0018), or reachable
    /// through their own team or shares, or through the team or shares of their parent.
    pub fn push_visible_child(&self, qb: &mut QueryBuilder<'_, Postgres>, alias: &str, child: &Child) {
        let Some(owners) = &self.owners else {
            qb.push(" TRUE ");
            return;
        };
        qb.push(format_args!(" ({alias}.owner_id = ANY("))
            .push_bind(owners.clone())
            .push(format_args!(") OR {alias}.id = ANY(ARRAY("));
        self.push_child_extra_ids(qb, child);
        qb.push(format_args!(")) OR {alias}.{} = ANY(ARRAY(", child.parent_column));
        self.push_extra_ids(qb, child.parent_entity);
        qb.push("))) ");
    }

    /// `SELECT id ...` of child records reachable other than through their own owner or their
    /// parent's team and shares: their own team or shares, and — for those owned by someone else
    /// than their parent — their parent's owner being in scope.
    pub fn push_child_extra_ids(&self, qb: &mut QueryBuilder<'_, Postgres>, child: &Child) {
        self.push_extra_ids(qb, child.entity);
        let Some(owners) = &self.owners else {
            return;
        };
        qb.push(format_args!(
            " UNION ALL SELECT s.id FROM {} s JOIN {} p ON p.id = s.{} WHERE s.owner_split AND p.owner_id = ANY(",
            child.table, child.parent_table, child.parent_column
        ))
        .push_bind(owners.clone())
        .push(")");
    }

    /// `SELECT record_id ...` of records of `entity` reachable through team or shares.
    pub fn push_extra_ids(&self, qb: &mut QueryBuilder<'_, Postgres>, entity: &str) {
        qb.push("SELECT m.record_id FROM record_members m WHERE m.entity = ")
            .push_bind(entity.to_string())
            .push(" AND m.user_id = ")
            .push_bind(self.user_id)
            .push(" AND (m.expires_at IS NULL OR m.expires_at > now())")
            .push(" UNION ALL SELECT s.record_id FROM record_shares s WHERE s.entity = ")
            .push_bind(entity.to_string())
            .push(" AND (s.user_id = ")
            .push_bind(self.user_id)
            .push(" OR s.dept_id = ")
            .push_bind(self.dept_id)
            .push(") AND (s.expires_at IS NULL OR s.expires_at > now())");
    }

    /// Append `(<alias> may be changed by the user)` — visibility aside: the owner is in the owner
    /// set, or the user holds a live read-write team place on the record. For a record under a
    /// parent (`parent`: its column, the parent's entity and table) the parent's owner and the
    /// parent's read-write team places count too. Names are code constants; values are bound.
    pub fn push_writable(
        &self,
        qb: &mut QueryBuilder<'_, Postgres>,
        alias: &str,
        entity: &str,
        parent: Option<(&str, &str, &str)>,
    ) {
        let Some(owners) = &self.owners else {
            qb.push(" TRUE ");
            return;
        };
        qb.push(format_args!(" ({alias}.owner_id = ANY(")).push_bind(owners.clone()).push(")");
        self.push_write_place(qb, &format!("{alias}.id"), entity);
        if let Some((column, parent_entity, parent_table)) = parent {
            qb.push(format_args!(
                " OR EXISTS (SELECT 1 FROM {parent_table} p WHERE p.id = {alias}.{column} AND p.owner_id = ANY("
            ))
            .push_bind(owners.clone())
            .push("))");
            self.push_write_place(qb, &format!("{alias}.{column}"), parent_entity);
        }
        qb.push(") ");
    }

    /// ` OR <id_expr> = ANY(<records of entity where the user holds a live read-write place>)`
    fn push_write_place(&self, qb: &mut QueryBuilder<'_, Postgres>, id_expr: &str, entity: &str) {
        qb.push(format_args!(" OR {id_expr} = ANY(ARRAY(SELECT m.record_id FROM record_members m WHERE m.entity = "))
            .push_bind(entity.to_string())
            .push(" AND m.access = 'write' AND m.user_id = ")
            .push_bind(self.user_id)
            .push(" AND (m.expires_at IS NULL OR m.expires_at > now())))");
    }
}

/// A kind of record hanging under a parent, for `push_visible_child`. Names are code constants.
pub struct Child {
    pub entity: &'static str,
    pub table: &'static str,
    pub parent_column: &'static str,
    pub parent_entity: &'static str,
    pub parent_table: &'static str,
}

/// The owner set for a union of scope kinds; `None` when one of them is `All`.
pub async fn owners_for(
    db: &PgPool,
    user_id: i64,
    dept_id: i64,
    kinds: &[ScopeKind],
) -> sqlx::Result<Option<Vec<i64>>> {
    if kinds.contains(&ScopeKind::All) {
        return Ok(None);
    }
    let mut owners = BTreeSet::from([user_id]);
    // Each set comes back as one array: decoding 2,000 rows one by one costs more than the query.
    for kind in kinds {
        let ids: Vec<i64> = match kind {
            ScopeKind::SelfOnly | ScopeKind::All => continue,
            ScopeKind::SelfAndSubordinates => {
                // The whole reporting map in one row, walked here: at the top of a 2,000-user
                // tree this is several times cheaper than a recursive query, and about as cheap
                // at the bottom.
                let (ids, superiors): (Vec<i64>, Vec<i64>) = sqlx::query_as(
                    "SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(superior_id), '{}')
                       FROM users WHERE superior_id IS NOT NULL",
                )
                .fetch_one(db)
                .await?;
                subordinates(user_id, &ids, &superiors)
            }
            ScopeKind::Dept => {
                sqlx::query_scalar("SELECT coalesce(array_agg(id), '{}') FROM users WHERE dept_id = $1")
                    .bind(dept_id)
                    .fetch_one(db)
                    .await?
            }
            ScopeKind::DeptAndSub => {
                sqlx::query_scalar(
                    "WITH RECURSIVE d AS (
                       SELECT id FROM departments WHERE id = $1
                       UNION SELECT c.id FROM departments c JOIN d ON c.parent_id = d.id)
                     SELECT coalesce(array_agg(u.id), '{}') FROM users u JOIN d ON u.dept_id = d.id",
                )
                .bind(dept_id)
                .fetch_one(db)
                .await?
            }
        };
        owners.extend(ids);
    }
    Ok(Some(owners.into_iter().collect()))
}

/// Everyone below `root` in the reporting map `ids[i]` → `superiors[i]`, at any depth. Safe on a
/// loop (the forms refuse them, but the walk must not hang on bad data).
fn subordinates(root: i64, ids: &[i64], superiors: &[i64]) -> Vec<i64> {
    let mut reports: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, sup) in ids.iter().zip(superiors) {
        reports.entry(*sup).or_default().push(*id);
    }
    let mut found = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut next = vec![root];
    while let Some(u) = next.pop() {
        for r in reports.get(&u).into_iter().flatten() {
            if seen.insert(*r) {
                found.push(*r);
                next.push(*r);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::subordinates;

    #[test]
    fn subordinates_at_every_depth_and_loops_end() {
        // 1 ← 2 ← 3 ← 4, 1 ← 5; 6 reports to 7 and 7 to 6.
        let (ids, sups) = ([2, 3, 4, 5, 6, 7], [1, 2, 3, 1, 7, 6]);
        let mut below = subordinates(1, &ids, &sups);
        below.sort();
        assert_eq!(below, [2, 3, 4, 5]);
        assert_eq!(subordinates(3, &ids, &sups), [4]);
        assert!(subordinates(4, &ids, &sups).is_empty());
        assert_eq!(subordinates(6, &ids, &sups), [7]);
    }
}
