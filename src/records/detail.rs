//! What every record kind's detail page shows besides its own fields: the tab chosen, the
//! user's rights on the record, their star, the custom field values, and the contents of the
//! shared tabs (timeline, attachments, team, history) — loaded only for the tab shown. The module's
//! `show` handler finds the record (404 when not visible), loads a `Detail` and adds its own.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::def::RecordDef;
use super::sql;
use crate::access::{Action, DataScope};
use crate::attachments::Panel;
use crate::audit::history::{self, LogRow};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::fields::{self, FieldDef};
use crate::list::UserNames;
use crate::state::AppState;
use crate::timeline::TimelineView;
use crate::web::PageCtx;

/// The detail page's query: `?tab=timeline&kind=followup`.
#[derive(Deserialize, Default)]
pub struct TabQuery {
    #[serde(default)]
    pub tab: String,
    /// Timeline filter: "", "followup", "history", "approval" or a registered source's code.
    #[serde(default)]
    pub kind: String,
}

/// What the page's record says of itself.
pub struct Row<'a> {
    pub id: i64,
    pub owner: Option<i64>,
    /// Nobody may change it now (the kind's read-only state: frozen, converted).
    pub read_only: bool,
    pub custom: &'a Map<String, Value>,
    /// The customer whose contacts a follow-up may name.
    pub customer: Option<i64>,
}

pub struct Detail {
    /// The tab shown: one of the page's tabs, the first by default.
    pub tab: &'static str,
    /// The user may change the record: owner in scope or a read-write team place (read-only
    /// records included: they may be unlocked or unfrozen).
    pub can_write: bool,
    /// The user may give it away: its owner (or its parent's, for a child) is in their scope —
    /// a read-write team place is not enough (`sql::push_transferable`).
    pub can_transfer: bool,
    /// Nobody may change it now (frozen, converted).
    pub read_only: bool,
    pub starred: bool,
    /// The kind's active custom fields, the names of users they point at, and their values as
    /// (label, shown value).
    pub defs: Vec<FieldDef>,
    pub user_names: UserNames,
    pub custom: Vec<(String, String)>,
    pub history: Vec<LogRow>,
    pub timeline: Option<TimelineView>,
    pub attachments: Panel,
    /// The Team tab's members and shares (kinds with a team, when that tab is shown).
    pub team: super::team::Panel,
}

impl Detail {
    /// `scope`: the user's scope in the kind's module (the page has found the record with it).
    /// `tabs`: the page's (key, label key) tabs in order.
    #[allow(clippy::too_many_arguments)]
    pub async fn load(
        st: &AppState,
        ctx: &PageCtx,
        (user, scope): (&CurrentUser, &DataScope),
        def: &'static RecordDef,
        row: Row<'_>,
        tabs: &[(&'static str, &'static str)],
        q: &TabQuery,
    ) -> AppResult<Detail> {
        let tab = tabs.iter().map(|(k, _)| *k).find(|k| *k == q.tab).unwrap_or(tabs[0].0);
        let Row { id, owner, read_only, custom, customer } = row;
        let can_write = sql::may_write(&st.db, def, scope, id, owner).await?;
        let can_transfer =
            can_write && def.features.transfer && sql::may_transfer(&st.db, def, scope, id, owner).await?;
        let defs = fields::defs(&st.db, def.entity).await?;
        let user_names = fields::user_names(&st.db, &defs, std::iter::once(custom)).await?;
        let shown = defs
            .iter()
            .map(|d| {
                let v = fields::display(d, custom.get(&d.key), ctx.lang, ctx.tz, &user_names);
                (d.label(ctx.lang).to_string(), v)
            })
            .collect();
        let history =
            if tab == "history" { history::for_record(&st.db, def.entity, id, 200).await? } else { Vec::new() };
        let timeline = if tab == "timeline" {
            let can_add = can_write && !read_only && user.can(def.module, Action::Edit);
            let view = TimelineView::load(
                &st.db,
                &ctx.session,
                (user, ctx.lang),
                def.entity,
                id,
                customer,
                &q.kind,
                can_add,
                def.url(id),
            );
            Some(view.await?)
        } else {
            None
        };
        let attachments = if tab == "attachments" { Panel::load(st, def, user, id).await? } else { Panel::default() };
        let team = if tab == "team" && def.features.team {
            super::team::Panel::load(&st.db, def, id).await?
        } else {
            Default::default()
        };
        Ok(Detail {
            tab,
            can_write,
            can_transfer,
            read_only,
            starred: super::stars::is_starred(&st.db, user.id, def.entity, id).await?,
            defs,
            user_names,
            custom: shown,
            history,
            timeline,
            attachments,
            team,
        })
    }

    /// The tab bar: (key, label, shown) for the page's (key, label key) tabs.
    pub fn tab_links(
        &self,
        ctx: &PageCtx,
        tabs: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str, bool)> {
        tabs.iter().map(|(k, l)| (*k, ctx.t(l), *k == self.tab)).collect()
    }

    /// The user may change it now, with the module's `action` permission (for `Transfer`, give it
    /// away: see `can_transfer`).
    pub fn may(&self, user: &CurrentUser, def: &'static RecordDef, action: Action) -> bool {
        let right = if action == Action::Transfer { self.can_transfer } else { self.can_write };
        right && !self.read_only && user.can(def.module, action)
    }
}
