//! What can be approved. A module registers each of its subjects (`registry::Registry::subject`)
//! by implementing `SubjectDef` on a unit struct; the engine, the inbox and the timeline find
//! them by code and never name a module. The customer status upgrade is one such subject;
//! contracts and payments use the same interface.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::{PgConnection, PgPool};

use super::model::Instance;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::records::sql;
use crate::web::i18n::Lang;

/// One approval subject. The hooks have defaults; a subject overrides those it needs.
pub trait SubjectDef: Send + Sync + 'static {
    /// Stored in `approval_flows.subject` and `approval_instances.subject`: "customer_status".
    fn code(&self) -> &'static str;

    /// The entity whose history (audit rows) and timeline the approval belongs to; when it is a
    /// registered record kind, titles, links and who may follow an instance come from there.
    fn entity(&self) -> &'static str;

    /// The permission module whose `approve` an approver needs (super admins always have it):
    /// approvers without it are skipped when a stage is planned or starts, and cannot decide.
    fn module(&self) -> Module;

    /// The i18n key of its name: "approval.subject.customer_status".
    fn label_key(&self) -> &'static str;

    /// Dictionaries its summary reads (loaded once for a page or a notification).
    fn dicts(&self) -> &'static [&'static str] {
        &[]
    }

    /// A one-line summary of what is asked, e.g. "基础客户 → 潜在客户" or "金额 120,000.00".
    /// Default: the payload's amount, if any.
    fn summary(&self, payload: &serde_json::Value, _dicts: &Dicts, lang: Lang) -> String {
        match payload.get("amount") {
            Some(a) => {
                let amount = a.as_str().map(str::to_string).unwrap_or_else(|| a.to_string());
                lang.tf("approval.summary.amount", &[("amount", &amount)])
            }
            None => String::new(),
        }
    }

    /// The instance reached "approved": make it so on the record (same transaction).
    fn on_approved<'a>(
        &'a self,
        _tx: &'a mut PgConnection,
        _inst: &'a Instance,
        _actor: Option<i64>,
        _ip: Option<&'a str>,
    ) -> BoxFuture<'a, AppResult<()>> {
        async { Ok(()) }.boxed()
    }

    /// The instance was rejected.
    fn on_rejected<'a>(
        &'a self,
        _tx: &'a mut PgConnection,
        _inst: &'a Instance,
        _actor: Option<i64>,
        _ip: Option<&'a str>,
    ) -> BoxFuture<'a, AppResult<()>> {
        async { Ok(()) }.boxed()
    }

    /// The submitter withdrew it (or it was withdrawn as stale).
    fn on_withdrawn<'a>(&'a self, _tx: &'a mut PgConnection, _inst: &'a Instance) -> BoxFuture<'a, AppResult<()>> {
        async { Ok(()) }.boxed()
    }

    /// A rejected or withdrawn instance goes round again (after `check_resubmit` said yes, in
    /// the same transaction): put the record back to waiting; Some(payload) replaces the facts
    /// the flow's conditions read (the record may have changed meanwhile).
    fn on_resubmitted<'a>(
        &'a self,
        _tx: &'a mut PgConnection,
        _inst: &'a Instance,
    ) -> BoxFuture<'a, AppResult<Option<serde_json::Value>>> {
        async { Ok(None) }.boxed()
    }

    /// Whether a rejected or withdrawn instance may go round again; Err is an i18n key.
    fn check_resubmit<'a>(
        &'a self,
        _tx: &'a mut PgConnection,
        _inst: &'a Instance,
    ) -> BoxFuture<'a, AppResult<Result<(), &'static str>>> {
        async { Ok(Ok(())) }.boxed()
    }
}

/// A registered subject: a cheap handle, compared by code.
#[derive(Clone, Copy)]
pub struct Subject(pub &'static dyn SubjectDef);

impl PartialEq for Subject {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
    }
}

impl Eq for Subject {}

impl Hash for Subject {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code().hash(state)
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({})", self.code())
    }
}

impl Subject {
    /// Every registered subject, in registration order.
    pub fn all() -> Vec<Subject> {
        crate::registry::get().subjects().collect()
    }

    pub fn from_code(code: &str) -> Option<Subject> {
        crate::registry::get().subjects().find(|s| s.code() == code)
    }

    /// Subjects whose instances belong to records of `entity` (for a record's timeline).
    pub fn for_entity(entity: &str) -> Vec<Subject> {
        crate::registry::get().subjects().filter(|s| s.entity() == entity).collect()
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    pub fn entity(self) -> &'static str {
        self.0.entity()
    }

    pub fn module(self) -> Module {
        self.0.module()
    }

    pub fn label_key(self) -> &'static str {
        self.0.label_key()
    }

    pub fn summary(self, payload: &serde_json::Value, dicts: &Dicts, lang: Lang) -> String {
        self.0.summary(payload, dicts, lang)
    }

    pub async fn on_approved(
        self,
        tx: &mut PgConnection,
        inst: &Instance,
        actor: Option<i64>,
        ip: Option<&str>,
    ) -> AppResult<()> {
        self.0.on_approved(tx, inst, actor, ip).await
    }

    pub async fn on_rejected(
        self,
        tx: &mut PgConnection,
        inst: &Instance,
        actor: Option<i64>,
        ip: Option<&str>,
    ) -> AppResult<()> {
        self.0.on_rejected(tx, inst, actor, ip).await
    }

    pub async fn on_withdrawn(self, tx: &mut PgConnection, inst: &Instance) -> AppResult<()> {
        self.0.on_withdrawn(tx, inst).await
    }

    pub async fn on_resubmitted(self, tx: &mut PgConnection, inst: &Instance) -> AppResult<Option<serde_json::Value>> {
        self.0.on_resubmitted(tx, inst).await
    }

    pub async fn check_resubmit(self, tx: &mut PgConnection, inst: &Instance) -> AppResult<Result<(), &'static str>> {
        self.0.check_resubmit(tx, inst).await
    }

    /// (title, link) of each record, for the inbox and notifications, from the record kind the
    /// subject belongs to. Records that are gone, and subjects of kinds not registered (yet),
    /// show as "#id" without a link.
    pub async fn describe(
        self,
        conn: &mut PgConnection,
        ids: &[i64],
    ) -> sqlx::Result<HashMap<i64, (String, Option<String>)>> {
        let mut out: HashMap<i64, (String, Option<String>)> =
            ids.iter().map(|id| (*id, (format!("#{id}"), None))).collect();
        if let Some(def) = crate::registry::get().record_of(self.entity()) {
            for (id, title, _) in sql::titles(conn, def, ids).await? {
                out.insert(id, (title, Some(def.url(id))));
            }
        }
        Ok(out)
    }

    /// Whether `user` can see the record itself (its module's view permission and data scope,
    /// team, shares), and so may follow its approvals read-only: steps, decisions, comments, but
    /// no actions (those stay with the approvers and the submitter). Subjects whose record kind
    /// is not registered (yet) answer no: only their participants see them.
    pub async fn can_view_record(self, db: &PgPool, user: &CurrentUser, record_id: i64) -> AppResult<bool> {
        let Some(def) = crate::registry::get().record_of(self.entity()) else { return Ok(false) };
        if !user.can(def.module, Action::View) {
            return Ok(false);
        }
        let scope = DataScope::resolve(db, user, def.module).await?;
        Ok(sql::is_visible(db, def, &scope, record_id).await?)
    }
}
