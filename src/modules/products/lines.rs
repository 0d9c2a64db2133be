//! Product lines (产品明细) of opportunities and contracts: each row's product (picked from the
//! on-shelf list, or typed as its code or name), price (the list price when left empty),
//! quantity and discount, checked and priced in Decimal. A row the record already had keeps its
//! product even after the product went off the shelf; a new row must use a product on the
//! shelf. Each kind keeps its lines in its own table (`LineTable`); the form's editor and the
//! detail page's table are the macros in `templates/partials/lines.html`.

use std::collections::HashMap;

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool, QueryBuilder};

use crate::dicts::Dicts;
use crate::money;
use crate::web::FormErrors;
use crate::web::forms::FormData;
use crate::web::i18n::Lang;

/// Where a kind keeps its lines: `opportunity_lines (opportunity_id, ...)`. Code constants.
pub struct LineTable {
    pub table: &'static str,
    pub parent: &'static str,
}

/// How many empty rows the form offers (more come with "add a line", or by saving).
pub const BLANK_LINES: usize = 3;

/// One line as stored.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Line {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub product_code: String,
    pub unit_id: Option<i64>,
    pub on_shelf: bool,
    pub price: Decimal,
    pub quantity: Decimal,
    pub discount: Decimal,
    pub subtotal: Decimal,
}

impl Line {
    /// How the product field shows it: "name（code）" (what the picker's options look like).
    pub fn product_label(&self) -> String {
        product_label(&self.product_name, &self.product_code)
    }

    pub fn input(&self) -> LineInput {
        LineInput {
            product_id: self.product_id,
            price: self.price,
            quantity: self.quantity,
            discount: self.discount,
            subtotal: self.subtotal,
        }
    }
}

pub fn product_label(name: &str, code: &str) -> String {
    format!("{name}（{code}）")
}

/// A line as typed: `line_id` is set on lines the record already had.
#[derive(Clone, Debug, Default)]
pub struct LineForm {
    pub line_id: String,
    pub product: String,
    pub price: String,
    pub quantity: String,
    pub discount: String,
}

impl LineForm {
    pub fn is_blank(&self) -> bool {
        [&self.product, &self.price, &self.quantity, &self.discount].iter().all(|v| v.trim().is_empty())
    }

    /// The rows of the form's line table (the repeated `line_*` fields, in order).
    pub fn all(form: &FormData) -> Vec<LineForm> {
        let col = |name: &str| form.all(name);
        let (ids, products, prices, qtys, discounts) =
            (col("line_id"), col("line_product"), col("line_price"), col("line_qty"), col("line_discount"));
        let at = |v: &Vec<&str>, i: usize| v.get(i).map(|s| s.to_string()).unwrap_or_default();
        (0..products.len())
            .map(|i| LineForm {
                line_id: at(&ids, i),
                product: at(&products, i),
                price: at(&prices, i),
                quantity: at(&qtys, i),
                discount: at(&discounts, i),
            })
            .collect()
    }

    /// A stored line as a form row; `keep_id` false for lines copied to a new record (a
    /// contract from its opportunity), whose rows are new there.
    pub fn of(line: &Line, keep_id: bool) -> LineForm {
        LineForm {
            line_id: if keep_id { line.id.to_string() } else { String::new() },
            product: line.product_label(),
            price: money::plain(&line.price),
            quantity: line.quantity.normalize().to_string(),
            discount: line.discount.normalize().to_string(),
        }
    }

    /// Put `lines` into a form as its rows.
    pub fn fill(form: &mut FormData, lines: &[Line], keep_id: bool) {
        for l in lines.iter().map(|l| LineForm::of(l, keep_id)) {
            form.push("line_id", l.line_id);
            form.push("line_product", l.product);
            form.push("line_price", l.price);
            form.push("line_qty", l.quantity);
            form.push("line_discount", l.discount);
        }
    }
}

/// A checked line, ready to save.
#[derive(Clone, Debug, PartialEq)]
pub struct LineInput {
    pub product_id: i64,
    pub price: Decimal,
    pub quantity: Decimal,
    pub discount: Decimal,
    pub subtotal: Decimal,
}

/// With lines, an amount is their total less the discount (percent) on the total; without, the
/// typed amount stands.
pub fn settle(lines: &[LineInput], discount: Decimal, typed: Decimal) -> Decimal {
    if lines.is_empty() {
        return typed;
    }
    money::discounted(lines.iter().map(|l| l.subtotal).sum(), discount)
}

/// The form field a row's error is shown under.
pub fn error_field(row: usize) -> String {
    format!("line_{row}")
}

/// The code inside "name（code）", as the picker shows products.
fn code_in_label(text: &str) -> Option<&str> {
    let open = text.rfind('（')?;
    text[open + '（'.len_utf8()..].strip_suffix('）')
}

/// Check the rows (blank ones are skipped) against the products and the lines the record had
/// (`existing`); errors go under `line_<row>`.
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
            Some(code) => by_code_or_name(conn, code).await?,
            None if text.is_empty() => None,
            None => by_code_or_name(conn, text).await?,
        };
        ids.push(id);
    }
    let known: Vec<i64> = ids.iter().flatten().copied().collect();
    let found: HashMap<i64, (bool, Decimal)> =
        products(conn, &known).await?.into_iter().map(|(id, _, _, on_shelf, price)| (id, (on_shelf, price))).collect();
    let mut out = Vec::new();
    for ((i, row), id) in filled.into_iter().zip(ids) {
        let field = error_field(i);
        let Some((product_id, (on_shelf, list_price))) = id.and_then(|id| found.get(&id).map(|p| (id, p))) else {
            let key = if row.product.trim().is_empty() { "line.error.product" } else { "line.error.unknown" };
            errors.add(&field, key);
            continue;
        };
        // Kept: the row was a line of this record with this very product.
        let kept = existing.iter().find(|l| l.id.to_string() == row.line_id.trim() && l.product_id == product_id);
        if kept.is_none() && !on_shelf {
            errors.add(&field, "line.error.off_shelf");
            continue;
        }
        match priced(row, kept.map_or(*list_price, |l| l.price)) {
            Ok((price, quantity, discount)) => {
                let subtotal = money::subtotal(price, quantity, discount);
                out.push(LineInput { product_id, price, quantity, discount, subtotal });
            }
            Err(key) => errors.add(&field, key),
        }
    }
    Ok(out)
}

/// A row's price (`default` when empty), quantity (1 when empty) and discount.
fn priced(row: &LineForm, default: Decimal) -> Result<(Decimal, Decimal, Decimal), &'static str> {
    let price = match row.price.trim() {
        "" => default,
        v => money::amount(v)?,
    };
    let quantity = match row.quantity.trim() {
        "" => Decimal::ONE,
        v => money::quantity(v)?,
    };
    Ok((price, quantity, money::percent(&row.discount)?))
}

/// The rows the form's editor shows: what was typed (or the lines stored), then a few blank ones.
pub fn rows_for_form(typed: Vec<LineForm>, stored: &[Line]) -> Vec<LineForm> {
    let mut rows = if typed.is_empty() { stored.iter().map(|l| LineForm::of(l, true)).collect() } else { typed };
    rows.retain(|r| !r.is_blank());
    rows.extend(std::iter::repeat_with(LineForm::default).take(BLANK_LINES));
    rows
}

/// How the history keeps the lines: "Name（CODE） 2 × 100.00 −10% = 180.00", one per line.
pub async fn describe(conn: &mut PgConnection, lines: &[LineInput]) -> sqlx::Result<Option<String>> {
    let ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
    let names: HashMap<i64, String> = products(conn, &ids)
        .await?
        .into_iter()
        .map(|(id, name, code, _, _)| (id, product_label(&name, &code)))
        .collect();
    let text: Vec<String> = lines
        .iter()
        .map(|l| {
            let product = names.get(&l.product_id).cloned().unwrap_or_default();
            let discount =
                if l.discount.is_zero() { String::new() } else { format!(" −{}%", l.discount.normalize()) };
            format!(
                "{product} {} × {}{discount} = {}",
                l.quantity.normalize(),
                crate::web::format::money(&l.price),
                crate::web::format::money(&l.subtotal)
            )
        })
        .collect();
    Ok(Some(text.join("\n")).filter(|s| !s.is_empty()))
}

/// The form's line editor: its rows with their errors, and the on-shelf products to pick from.
pub struct Editor {
    pub rows: Vec<(LineForm, Option<String>)>,
    /// (label "name（code）", list price, unit)
    pub options: Vec<(String, String, String)>,
}

impl Editor {
    pub async fn load(
        db: &PgPool,
        typed: Vec<LineForm>,
        stored: &[Line],
        errors: &FormErrors,
        dicts: &Dicts,
        lang: Lang,
    ) -> sqlx::Result<Editor> {
        let rows = rows_for_form(typed, stored)
            .into_iter()
            .enumerate()
            .map(|(i, r)| (r, errors.get(&error_field(i)).map(str::to_string)))
            .collect();
        let options = super::on_shelf(db)
            .await?
            .into_iter()
            .map(|(_, code, name, price, unit)| {
                (product_label(&name, &code), money::plain(&price), dicts.label(unit, lang))
            })
            .collect();
        Ok(Editor { rows, options })
    }
}

/// The detail page's table of lines: rows, their total, and the discount on it.
pub struct Table {
    pub lines: Vec<Line>,
    pub units: HashMap<i64, String>,
    pub total: Decimal,
    pub discount: Decimal,
    pub amount: Decimal,
}

impl Table {
    pub fn new(lines: Vec<Line>, dicts: &Dicts, lang: Lang, discount: Decimal, amount: Decimal) -> Table {
        let units = lines.iter().filter_map(|l| l.unit_id.map(|u| (u, dicts.label(Some(u), lang)))).collect();
        let total = lines.iter().map(|l| l.subtotal).sum();
        Table { lines, units, total, discount, amount }
    }

    pub fn unit(&self, line: &Line) -> &str {
        line.unit_id.and_then(|u| self.units.get(&u)).map(String::as_str).unwrap_or("")
    }
}

/// The stored lines of record `id`, in order.
pub async fn stored(db: &PgPool, t: &LineTable, id: i64) -> sqlx::Result<Vec<Line>> {
    sqlx::query_as(&format!(
        "SELECT l.id, l.product_id, p.name AS product_name, p.code AS product_code, p.unit_id,
                p.on_shelf AND p.deleted_at IS NULL AS on_shelf, l.price, l.quantity, l.discount, l.subtotal
           FROM {} l JOIN products p ON p.id = l.product_id
          WHERE l.{} = $1 ORDER BY l.position, l.id",
        t.table, t.parent
    ))
    .bind(id)
    .fetch_all(db)
    .await
}

/// Replace the lines of record `id` with `lines`, in order.
pub async fn replace(tx: &mut PgConnection, t: &LineTable, id: i64, lines: &[LineInput]) -> sqlx::Result<()> {
    sqlx::query(&format!("DELETE FROM {} WHERE {} = $1", t.table, t.parent)).bind(id).execute(&mut *tx).await?;
    if lines.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO {} ({}, product_id, price, quantity, discount, subtotal, position) ",
        t.table, t.parent
    ));
    q.push_values(lines.iter().enumerate(), |mut b, (i, l)| {
        b.push_bind(id)
            .push_bind(l.product_id)
            .push_bind(l.price)
            .push_bind(l.quantity)
            .push_bind(l.discount)
            .push_bind(l.subtotal)
            .push_bind(i as i32 + 1);
    });
    q.build().execute(tx).await?;
    Ok(())
}

/// Products by id with their shelf state and list price: (id, name, code, on shelf, price).
async fn products(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<(i64, String, String, bool, Decimal)>> {
    sqlx::query_as("SELECT id, name, code, on_shelf AND deleted_at IS NULL, price FROM products WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(conn)
        .await
}

/// A product by its code, or by its name when only one live product has it.
async fn by_code_or_name(conn: &mut PgConnection, text: &str) -> sqlx::Result<Option<i64>> {
    let by_code: Option<i64> =
        sqlx::query_scalar("SELECT id FROM products WHERE code = $1").bind(text).fetch_optional(&mut *conn).await?;
    if by_code.is_some() {
        return Ok(by_code);
    }
    let by_name: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM products WHERE name = $1 AND deleted_at IS NULL LIMIT 2")
            .bind(text)
            .fetch_all(conn)
            .await?;
    Ok(if by_name.len() == 1 { by_name.first().copied() } else { None })
}
