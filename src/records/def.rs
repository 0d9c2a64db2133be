//! The record registry's entries: one `RecordDef` per kind of owned record, and the `Record`
//! trait a module implements once to plug its records into the shared behaviour (lists' scenes
//! and columns, stars, recycle bin, team and sharing, transfer, attachments, follow-ups).
//!
//! The kernel reads the descriptors and never names a module: the tables of custom-field
//! entities, follow-up targets, numbering targets and owned records that a new module used to
//! add itself to by hand are all walks over `registry::get().records()`.

use std::future::Future;

use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::access::{DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::list::Column;
use crate::state::AppState;
use crate::web::i18n::Lang;

/// One kind of owned record. Every name in it is a code constant that goes into SQL as it is.
/// SQL fragments are written against the alias `t` (the record's table).
#[derive(Debug)]
pub struct RecordDef {
    /// The entity code in audit rows, stars, attachments, team and share rows, custom fields and
    /// follow-ups: "customer".
    pub entity: &'static str,
    /// Its table: "customers" (every record table has `id`, `owner_id`, `deleted_at`,
    /// `deleted_by`, `updated_at`).
    pub table: &'static str,
    /// Where its pages live: "/customers" (list), "/customers/{id}" (detail).
    pub path: &'static str,
    /// The permission module guarding it, also the code of its list preferences and scenes.
    pub module: Module,
    /// Records have owners (`owner_id`) and are seen through the data scope, team and shares.
    /// A company-wide kind (the product catalogue) has no owner: whoever holds the module's
    /// permissions sees and changes every record.
    pub owned: bool,
    /// The i18n prefix of its messages: "customer" → "customer.deleted_n", "customer.recycle_bin".
    pub key: &'static str,
    /// SQL for the record's name, on alias `t`: "t.name".
    pub title: &'static str,
    /// Who else sees a live record besides its scope, team and shares: pushes `(...)` on alias
    /// `t` (customers sitting in a pool are seen by the pool's members).
    pub also_visible: Option<fn(&mut QueryBuilder<'_, Postgres>, &DataScope)>,
    /// The record hangs under a parent whose scope it follows (contacts under customers).
    pub parent: Option<Parent>,
    /// SQL for "no one may change it now" on alias `t`, with the reason's i18n key (a frozen
    /// customer, a converted lead). Such records can still be seen.
    pub read_only: Option<ReadOnly>,
    /// SQL for the customer a record belongs to, on alias `t` ("t.id" for customers): its
    /// follow-ups also appear on that customer's timeline and may name its contacts.
    pub customer: Option<&'static str>,
    /// The column holding the number a numbering rule gives (rule kind = `entity`).
    pub number_column: Option<&'static str>,
    /// The prefix of the audit actions and notification kinds several kinds share ("lead_" →
    /// "lead_transfer", "lead_transfer_in"); customers came first and have none.
    pub events: &'static str,
    /// The recycle bin's third column: (label key, SQL on alias `t`).
    pub recycle_detail: (&'static str, &'static str),
    pub features: Features,
}

/// A parent record kind (names are code constants).
#[derive(Debug)]
pub struct Parent {
    pub entity: &'static str,
    pub table: &'static str,
    /// The child's column pointing at the parent: "customer_id".
    pub column: &'static str,
    /// The child's boolean column set when it is transferred on its own: from then on it keeps
    /// its owner when its parent changes hands ("owner_locked"); None: children have owners of
    /// their own, and those of the parent's previous owner move with it when the transfer form
    /// says so.
    pub own_owner: Option<&'static str>,
    /// Seen through the parent's scope too (a contact by whoever sees its customer); otherwise
    /// only through its own owner, team and shares (an opportunity).
    pub follows_scope: bool,
    /// A parent with live children of this kind cannot go to the recycle bin: the refusal's
    /// i18n key ("opportunity.blocks_customer_delete", with `{name}` the parent and `{n}` how
    /// many children).
    pub blocks_delete: Option<&'static str>,
}

#[derive(Debug)]
pub struct ReadOnly {
    pub when: &'static str,
    pub reason: &'static str,
}

/// Which shared behaviour a record kind takes part in. Each flag is read by the kernel: routes
/// are added, tabs offered and tables walked according to it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    /// Admin-defined custom fields (`custom jsonb`).
    pub custom_fields: bool,
    /// Follow-ups and the timeline (`last_followup_at`, `next_contact_at`).
    pub timeline: bool,
    pub attachments: bool,
    /// Team members (相关团队), with read or read-write access.
    pub team: bool,
    /// Shares (共享) with users and departments, read-only.
    pub share: bool,
    /// A new owner (转移), one or many.
    pub transfer: bool,
}

impl Features {
    /// Every shared behaviour; a kind leaves out what it does not take part in
    /// (`Features { team: false, ..Features::ALL }`).
    pub const ALL: Features =
        Features { custom_fields: true, timeline: true, attachments: true, team: true, share: true, transfer: true };
}

impl RecordDef {
    /// "/customers/7"
    pub fn url(&self, id: i64) -> String {
        format!("{}/{id}", self.path)
    }

    /// An audit action or notification kind of this kind: "transfer" → "lead_transfer".
    pub fn event(&self, name: &str) -> String {
        format!("{}{name}", self.events)
    }

    /// The i18n key `<key>.<suffix>`.
    pub fn msg(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.key)
    }

    /// The entity's name for people: "entity.customer".
    pub fn label_key(&self) -> String {
        format!("entity.{}", self.entity)
    }

    /// Every catalog key the kernel builds for this kind (`<key>.deleted_n`, `nav.<module>`, its
    /// notifications...): a test checks both languages have them, as it does for literal keys.
    pub fn message_keys(&self) -> Vec<String> {
        let f = self.features;
        let mut keys: Vec<String> = [
            "name",
            "owner",
            "starred_n",
            "unstarred_n",
            "confirm_bulk_delete",
            "deleted_n",
            "skipped_no_right",
            "restored_n",
            "purged_n",
            "recycle_bin",
            "recycle_hint",
            "recycle_select",
            "recycle_empty",
            "selected_n",
            "scene_all",
        ]
        .iter()
        .map(|s| self.msg(s))
        .collect();
        keys.extend([self.label_key(), self.title_key(), self.recycle_detail.0.to_string()]);
        if let Some(ro) = &self.read_only {
            keys.extend([self.msg("skipped_read_only"), ro.reason.to_string()]);
        }
        if f.custom_fields {
            keys.push(format!("fields.entity.{}", self.entity));
        }
        if f.transfer {
            keys.extend(["transfer_title", "transferred", "transferred_n"].map(|s| self.msg(s)));
            keys.push(format!("notify.{}", self.event("transfer_in")));
            keys.push(format!("audit.action.{}", self.event("transfer")));
        }
        if let Some(p) = &self.parent {
            keys.extend(["move_along", "moved_along"].map(|s| self.msg(s)));
            if p.own_owner.is_some() {
                keys.push(self.msg("transfer_hint"));
            }
            keys.extend(p.blocks_delete.map(str::to_string));
        }
        if f.team {
            keys.push(self.msg("team_added_n"));
            keys.extend(["team_added", "team_added_n"].map(|e| format!("notify.{}", self.event(e))));
        }
        if f.share {
            keys.push(self.msg("shared_n"));
            keys.extend(["shared", "shared_n"].map(|e| format!("notify.{}", self.event(e))));
        }
        keys
    }

    /// The list's title: the module's nav entry.
    pub fn title_key(&self) -> String {
        format!("nav.{}", self.module.code())
    }
}

/// A record module's plug into the shared behaviour; implemented once per module on a unit
/// struct. The hooks have defaults; a module overrides those where its records differ.
pub trait Record: Send + Sync + 'static {
    const DEF: &'static RecordDef;

    /// Every column its list can show to `user`, given its custom fields (which come last).
    fn column_list(defs: &[FieldDef], lang: Lang, user: &CurrentUser) -> Vec<Column>;

    /// The columns with the kind's active custom fields, for the column chooser.
    fn columns(st: &AppState, user: &CurrentUser, lang: Lang) -> impl Future<Output = AppResult<Vec<Column>>> + Send {
        async move {
            let defs = crate::fields::defs(&st.db, Self::DEF.entity).await?;
            Ok(Self::column_list(&defs, lang, user))
        }
    }

    /// Ids of the live records the list's filter (its query string) matches within `scope`,
    /// for bulk actions on "every matching row".
    fn matching(
        st: &AppState,
        user: &CurrentUser,
        scope: &DataScope,
        filter: &str,
    ) -> impl Future<Output = AppResult<Vec<i64>>> + Send;

    /// Whether `to` (named `to_name`) may receive `ids` by transfer; Err is the sentence saying
    /// why not (customers: the ownership caps).
    fn check_receiving(
        _tx: &mut PgConnection,
        _to: i64,
        _to_name: &str,
        _ids: &[i64],
        _lang: Lang,
    ) -> impl Future<Output = AppResult<Result<(), String>>> + Send {
        async { Ok(Ok(())) }
    }

    /// Records among `ids` that may not go to the recycle bin, each with the sentence saying
    /// why (a product used on opportunity lines names where).
    fn delete_blockers(
        _tx: &mut PgConnection,
        _ids: &[i64],
        _lang: Lang,
    ) -> impl Future<Output = AppResult<Vec<(i64, String)>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// After `ids` went to the recycle bin (`restored` false) or came back from it.
    fn after_bin(_tx: &mut PgConnection, _ids: &[i64], _restored: bool) -> impl Future<Output = AppResult<()>> + Send {
        async { Ok(()) }
    }

    /// Of the binned `ids` (locked), those that may come back now, and a sentence for each
    /// group refused (customers: the owner's caps).
    fn restorable(
        _tx: &mut PgConnection,
        ids: &[i64],
        _lang: Lang,
    ) -> impl Future<Output = AppResult<(Vec<i64>, Vec<String>)>> + Send {
        let ids = ids.to_vec();
        async move { Ok((ids, Vec::new())) }
    }

    /// Rows of the module's own that must go before `ids` are deleted for good (the kernel
    /// removes stars, attachments, team places, shares, reminders and children).
    fn before_purge(_tx: &mut PgConnection, _ids: &[i64]) -> impl Future<Output = AppResult<()>> + Send {
        async { Ok(()) }
    }
}
