//! A list's filter turned into SQL: the filter form (`F`, the module's struct) and what its
//! conditions read besides — dictionaries, the kind's custom fields and the custom-field filters
//! in the query string, the time zone of its dates. The module says how its filter narrows
//! (`Narrows`); the list page and the bulk actions on "every matching row" both go through it,
//! so a bulk action reaches exactly the rows listed.

use chrono::FixedOffset;
use sqlx::{Postgres, QueryBuilder};

use super::keyword::KeywordSql;
use super::{Scene, filters};
use crate::access::DataScope;
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::fields::{self, CustomFilter, FieldDef};
use crate::state::AppState;

/// What a list's conditions read besides the filter form.
pub struct FilterContext {
    pub dicts: Dicts,
    pub defs: Vec<FieldDef>,
    pub custom: Vec<CustomFilter>,
    pub tz: FixedOffset,
}

impl FilterContext {
    /// The dictionaries `dicts`, the custom fields of `entity`, the filters on them in `raw`.
    pub async fn load(st: &AppState, entity: &str, dicts: &[&str], raw: &str) -> sqlx::Result<FilterContext> {
        let defs = fields::defs(&st.db, entity).await?;
        let custom = fields::filters_from_query(&defs, Some(raw));
        Ok(FilterContext { dicts: Dicts::load(&st.db, dicts).await?, defs, custom, tz: st.config.timezone })
    }
}

/// A filter with what it reads: `narrowing.push_from_where(q, scope, user)`.
pub struct Narrowing<'a, F> {
    pub filter: &'a F,
    pub cx: &'a FilterContext,
}

/// How a module's filter narrows its list.
pub trait Narrows: Sized {
    /// `FROM <table> <alias> WHERE <live> AND <visible to scope>` and the filter's conditions.
    fn push_from_where(
        n: &Narrowing<'_, Self>,
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &DataScope,
        user: &CurrentUser,
    );
}

/// The conditions every owned-record list starts with: its scene, keyword, owner and the
/// owner's department (with sub-departments). Strings are the filter form's values.
pub struct Owned<'a> {
    pub alias: &'static str,
    pub entity: &'static str,
    pub keyword: &'a KeywordSql,
    pub scene: Scene,
    pub q: &'a str,
    pub owner: &'a str,
    pub dept: &'a str,
}

impl<F: Narrows> Narrowing<'_, F> {
    pub fn push_from_where(&self, q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope, user: &CurrentUser) {
        F::push_from_where(self, q, scope, user);
    }

    /// ` AND ...` for the `Owned` conditions.
    pub fn push_owned(&self, q: &mut QueryBuilder<'_, Postgres>, o: Owned<'_>, user: &CurrentUser) {
        o.scene.push(q, o.alias, o.entity, user);
        o.keyword.push(q, o.q);
        let owner = format!("{}.owner_id", o.alias);
        filters::push_id(q, &owner, o.owner);
        if let Some(d) = filters::id_of(o.dept) {
            crate::org::departments::push_user_in_subtree(q, &owner, d);
        }
    }

    /// ` AND ...` for the custom-field filters.
    pub fn push_custom(&self, q: &mut QueryBuilder<'_, Postgres>, alias: &str) {
        fields::push_filters(q, alias, &self.cx.defs, &self.cx.custom, self.cx.tz);
    }

    /// ` AND <column>` within the days typed.
    pub fn push_days(&self, q: &mut QueryBuilder<'_, Postgres>, column: &str, (from, to): (&str, &str)) {
        filters::push_day_range(q, column, from, to, self.cx.tz);
    }
}
