//! Credit limits (信用额度): a customer may have a limit on what it owes (`customers.receivable`:
//! approved contracts' amounts less confirmed payments, kept in the transaction of each change).
//! Submitting a contract that would take it over the limit warns with the figures and needs a
//! confirmation; the figures stay on the contract for its approvers.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::PgConnection;

/// A customer's credit figures when a contract would exceed its limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    pub limit: Decimal,
    /// Owed now.
    pub outstanding: Decimal,
    /// Owed once this contract is approved.
    pub after: Decimal,
}

impl Warning {
    pub fn to_json(&self) -> Value {
        json!({ "limit": self.limit.to_string(), "outstanding": self.outstanding.to_string(), "after": self.after.to_string() })
    }

    pub fn from_json(v: &Value) -> Option<Warning> {
        let d = |k: &str| v.get(k).and_then(|x| x.as_str()).and_then(|s| s.parse::<Decimal>().ok());
        Some(Warning { limit: d("limit")?, outstanding: d("outstanding")?, after: d("after")? })
    }

    /// "信用额度 100,000.00，当前应收 80,000.00，本合同通过后 130,000.00" as i18n params.
    pub fn text(&self, lang: crate::web::i18n::Lang) -> String {
        let m = crate::web::format::money;
        lang.tf(
            "contract.credit.figures",
            &[("limit", &m(&self.limit)), ("outstanding", &m(&self.outstanding)), ("after", &m(&self.after))],
        )
    }
}

/// Whether approving `amount` more for the customer would exceed its limit (read in the caller's
/// transaction; the customer row is locked so two submissions see each other's effect once
/// approved — the check itself is advice, the approver decides).
pub async fn check(conn: &mut PgConnection, customer_id: i64, amount: Decimal) -> sqlx::Result<Option<Warning>> {
    let row: Option<(Option<Decimal>, Decimal)> =
        sqlx::query_as("SELECT credit_limit, receivable FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(conn)
            .await?;
    Ok(match row {
        Some((Some(limit), outstanding)) if outstanding + amount > limit => {
            Some(Warning { limit, outstanding, after: outstanding + amount })
        }
        _ => None,
    })
}

/// Move what the customer owes by `delta` (approved contract +, confirmed payment −, voided
/// contract − what was still owed on it).
pub async fn add_receivable(tx: &mut PgConnection, customer_id: i64, delta: Decimal) -> sqlx::Result<()> {
    sqlx::query("UPDATE customers SET receivable = receivable + $2 WHERE id = $1")
        .bind(customer_id)
        .bind(delta)
        .execute(tx)
        .await?;
    Ok(())
}
