//! Product lines as the form sends them: each row's product (picked from the on-shelf list, or
//! typed as its code or name), price (the list price when left empty), quantity and discount,
//! checked and priced in Decimal. A row the opportunity already had keeps its product even
//! after the product went off the shelf; a new row must use a product on the shelf.

use std::collections::HashMap;

use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::model::{Line, LineForm, LineInput, product_label};
use super::repo;
use crate::money;
use crate::web::FormErrors;

/// The form field a row's error is shown under.
pub fn error_field(row: usize) -> String {
    format!("line_{row}")
}

/// The code inside "name（code）", as the picker shows products.
fn code_in_label(text: &str) -> Option<&str> {
    let open = text.rfind('（')?;
    text[open + '（'.len_utf8()..].strip_suffix('）')
}

/// Check the rows (blank ones are skipped) against the products and the lines the opportunity
/// had (`existing`); errors go under `line_<row>`.
pub async fn resolve(
    conn: &mut PgConnection,
    rows: &[LineForm],
    existing: &[Line],
    errors: &mut FormErrors,
) -> sqlx::Result<Vec<LineInput>> {
    let filled: Vec<(usize, &LineForm)> = rows.iter().enumerate().filter(|(_, r)| !r.is_blank()).collect();
    let mut ids = Vec::new();
    for (_, row) in &filled {
        let text = row.product.trim();
        let id = match code_in_label(text) {
            Some(code) => repo::product_by_code_or_name(conn, code).await?,
            None if text.is_empty() => None,
            None => repo::product_by_code_or_name(conn, text).await?,
        };
        ids.push(id);
    }
    let known: Vec<i64> = ids.iter().flatten().copied().collect();
    let found: HashMap<i64, (bool, Decimal)> = repo::products(conn, &known)
        .await?
        .into_iter()
        .map(|(id, _, _, on_shelf, price)| (id, (on_shelf, price)))
        .collect();
    let mut out = Vec::new();
    for ((i, row), id) in filled.into_iter().zip(ids) {
        let field = error_field(i);
        let Some((product_id, (on_shelf, list_price))) = id.and_then(|id| found.get(&id).map(|p| (id, p))) else {
            let key = if row.product.trim().is_empty() {
                "opportunity.error.line_product"
            } else {
                "opportunity.error.line_unknown"
            };
            errors.add(&field, key);
            continue;
        };
        // Kept: the row was a line of this opportunity with this very product.
        let kept = existing.iter().find(|l| l.id.to_string() == row.line_id.trim() && l.product_id == product_id);
        if kept.is_none() && !on_shelf {
            errors.add(&field, "opportunity.error.line_off_shelf");
            continue;
        }
        let price = match row.price.trim() {
            "" => kept.map_or(*list_price, |l| l.price),
            v => match money::amount(v) {
                Ok(p) => p,
                Err(key) => {
                    errors.add(&field, key);
                    continue;
                }
            },
        };
        let quantity = match row.quantity.trim() {
            "" => Decimal::ONE,
            v => match money::quantity(v) {
                Ok(q) => q,
                Err(key) => {
                    errors.add(&field, key);
                    continue;
                }
            },
        };
        let discount = match money::percent(&row.discount) {
            Ok(d) => d,
            Err(key) => {
                errors.add(&field, key);
                continue;
            }
        };
        let subtotal = money::subtotal(price, quantity, discount);
        out.push(LineInput { product_id, price, quantity, discount, subtotal });
    }
    Ok(out)
}

/// The line rows a form shows: what was typed (or the lines stored), then a few blank ones.
pub fn rows_for_form(typed: Vec<LineForm>, stored: &[Line]) -> Vec<LineForm> {
    let mut rows = if typed.is_empty() { stored.iter().map(LineForm::of).collect() } else { typed };
    rows.retain(|r| !r.is_blank());
    rows.extend(std::iter::repeat_with(LineForm::default).take(super::model::BLANK_LINES));
    rows
}

/// How the history keeps the lines: "Name（CODE） 2 × 100.00 −10% = 180.00", one per line.
pub fn describe(lines: &[LineInput], names: &HashMap<i64, (String, String)>) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let product = names.get(&l.product_id).map(|(n, c)| product_label(n, c)).unwrap_or_default();
            let discount =
                if l.discount.is_zero() { String::new() } else { format!(" −{}%", l.discount.normalize()) };
            format!(
                "{product} {} × {}{discount} = {}",
                l.quantity.normalize(),
                crate::web::format::money(&l.price),
                crate::web::format::money(&l.subtotal)
            )
        })
        .collect()
}
