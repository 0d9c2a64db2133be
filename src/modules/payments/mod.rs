//! Payment plans (回款计划) and payments (回款) of approved contracts. A payment is recorded against
//! a contract, optionally a plan term, and goes through the `payment` approval flow; only
//! confirmed payments count as received (on the contract, its term and its customer), and what
//! is confirmed and waiting never exceeds the contract (`approval`). A payment is seen by
//! whoever sees its contract. Plans, the due list and their reminders are in `plans`; the
//! receivables ageing page in `ageing`.
//!
//! For other modules: `contract_money` (the contract page's Plans and Payments tabs).

mod ageing;
pub mod approval;
mod export;
mod form;
pub mod list;
pub mod model;
mod plans;
mod repo;
mod show;

use std::time::Duration;

use futures_util::FutureExt;
use rust_decimal::Decimal;
use sqlx::PgConnection;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::jobs::Job;
use crate::list::Column;
use crate::modules::contracts::Contract;
use crate::records::{Features, Parent, Record, RecordDef};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

pub use approval::subject;
pub use model::{Payment, Plan};

const VIEW: Guard = Guard::Perm(Module::Payments, Action::View);
const CREATE: Guard = Guard::Perm(Module::Payments, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Payments, Action::Edit);
const CONTRACT_VIEW: Guard = Guard::Perm(Module::Contracts, Action::View);
const CONTRACT_EDIT: Guard = Guard::Perm(Module::Contracts, Action::Edit);

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "payments",
    path: "/payments",
    module: Module::Payments,
    owned: true,
    key: "payment",
    title: "t.number",
    also_visible: None,
    parent: Some(Parent {
        entity: "contract",
        table: "contracts",
        column: "contract_id",
        own_owner: None,
        follows_scope: true,
        blocks_delete: Some("payment.blocks_contract_delete"),
    }),
    read_only: None,
    customer: Some("t.customer_id"),
    number_column: Some("number"),
    events: "payment_",
    recycle_detail: ("payment.contract", "(SELECT k.number FROM contracts k WHERE k.id = t.contract_id)"),
    features: Features {
        custom_fields: true,
        attachments: true,
        timeline: false,
        team: false,
        share: false,
        transfer: false,
    },
};

pub fn register(r: &mut Registry) {
    r.record(&RECORD);
    r.export(export::source());
    r.subject(&approval::SUBJECT);
    r.todo_source(plans::TODO_DUE);
    r.job(Job {
        name: "payment_plan_reminders",
        concurrent: false,
        every: Duration::from_secs(3600),
        run: |ctx| plans::remind(ctx).boxed(),
    });
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/payments", VIEW, list::index)
        .get("/payments/plans", CONTRACT_VIEW, plans::due)
        .get("/payments/ageing", CONTRACT_VIEW, ageing::ageing)
        .get("/payments/new", CREATE, form::new)
        .post("/payments", CREATE, form::create)
        .get("/payments/{id}", VIEW, show::show)
        .get("/payments/{id}/edit", EDIT, form::edit)
        .post("/payments/{id}", EDIT, form::update)
        .post("/payments/{id}/submit", EDIT, form::resubmit)
        .get("/contracts/{id}/plans/new", CONTRACT_EDIT, plans::new)
        .post("/contracts/{id}/plans", CONTRACT_EDIT, plans::create)
        .get("/contracts/{id}/plans/{plan}/edit", CONTRACT_EDIT, plans::edit)
        .post("/contracts/{id}/plans/{plan}", CONTRACT_EDIT, plans::update)
        .post("/contracts/{id}/plans/{plan}/delete", CONTRACT_EDIT, plans::delete)
        .merge(crate::records::routes::<Payments>())
}

/// A contract's plans and payments as its page shows them.
#[derive(Default)]
pub struct ContractMoney {
    pub plans: Vec<Plan>,
    pub payments: Vec<Payment>,
    pub dicts: Dicts,
    /// Planned by all terms together.
    pub planned: Decimal,
    pub today: chrono::NaiveDate,
    /// The user may add terms / record payments (approved contract they may change).
    pub can_plan: bool,
    pub can_pay: bool,
}

impl ContractMoney {
    pub fn method(&self, id: &Option<i64>, lang: &Lang) -> String {
        self.dicts.label(*id, *lang)
    }
}

/// The contract page's money tabs (`tab`: only "plans" and "payments" load rows). The caller has
/// found the contract visible; `can_write`: the user may change it.
pub async fn contract_money(
    st: &AppState,
    user: &CurrentUser,
    k: &Contract,
    can_write: bool,
    tab: &str,
) -> AppResult<ContractMoney> {
    let approved = k.status == "approved";
    let mut m = ContractMoney {
        today: chrono::Utc::now().with_timezone(&st.config.timezone).date_naive(),
        can_plan: approved && can_write && user.can(Module::Contracts, Action::Edit),
        can_pay: approved && can_write && user.can(Module::Payments, Action::Create),
        ..Default::default()
    };
    if matches!(tab, "plans" | "payments") {
        let mut conn = st.db.acquire().await?;
        m.plans = repo::plans(&mut conn, k.id).await?;
        m.planned = m.plans.iter().map(|p| p.amount).sum();
        m.dicts = Dicts::load(&st.db, model::DICTS).await?;
    }
    if tab == "payments" && user.can(Module::Payments, Action::View) {
        m.payments = repo::of_contract(&st.db, k.id).await?;
    }
    Ok(m)
}

/// Payments' plug into the record kernel.
pub struct Payments;

impl Record for Payments {
    const DEF: &'static RecordDef = &RECORD;

    fn column_list(defs: &[FieldDef], lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        list::available_columns(defs, lang)
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// Confirmed and waiting payments stay: they are money on the books (withdraw a waiting one
    /// on its approval page first).
    async fn delete_blockers(tx: &mut PgConnection, ids: &[i64], lang: Lang) -> AppResult<Vec<(i64, String)>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, number, status FROM payments WHERE id = ANY($1) AND status IN ('pending', 'approved')",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, number, status)| {
                let state = lang.t(model::Status::from_code(&status).unwrap_or(model::Status::Pending).label_key());
                (id, lang.tf("payment.error.delete_state", &[("number", &number), ("status", state)]))
            })
            .collect())
    }
}
