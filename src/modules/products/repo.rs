//! Product SQL. The catalogue is company-wide: no data scope, only the module's permissions.

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::model::{Product, ProductInput, TEXT_FIELDS};
use crate::list::keyword::KeywordSql;

pub const SELECT: &str = "SELECT p.id, p.code, p.name, p.category_id, p.unit_id, p.price, p.cost_price, p.spec,
       p.description, p.on_shelf, p.custom, cb.name AS created_by_name, p.created_at, p.updated_at";

pub const FROM: &str = "FROM products p LEFT JOIN users cb ON cb.id = p.created_by";

/// The keyword on name, code and specification; two-character terms on the name's pairs.
pub const KEYWORD: KeywordSql = KeywordSql { search: "p.search", bigrams: "name_bigrams(p.name)", names: &["p.name"] };

pub async fn find<'e>(db: impl sqlx::PgExecutor<'e>, id: i64) -> sqlx::Result<Option<Product>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE p.deleted_at IS NULL AND p.id = ").push_bind(id);
    q.build_query_as().fetch_optional(db).await
}

/// The live product with this code: (id, name). An import's duplicate check.
pub async fn by_code(conn: &mut PgConnection, code: &str) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as("SELECT id, name FROM products WHERE code = $1 AND deleted_at IS NULL")
        .bind(code)
        .fetch_optional(conn)
        .await
}

/// The oldest live product with this name, case aside: (id, code). An import's duplicate check
/// (the catalogue is small: no index needed).
pub async fn by_name(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as(
        "SELECT id, code FROM products WHERE lower(name) = lower($1) AND deleted_at IS NULL ORDER BY id LIMIT 1",
    )
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// Lock a live product for a change; false when it is gone.
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM products WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
            .bind(id)
            .fetch_optional(tx)
            .await?;
    Ok(found.is_some())
}

fn push_values(q: &mut QueryBuilder<'_, Postgres>, input: &ProductInput, code: &str) {
    let mut s = q.separated(", ");
    s.push_bind(code.to_string());
    s.push_bind(input.name.clone());
    s.push_bind(input.category_id);
    s.push_bind(input.unit_id);
    s.push_bind(input.price);
    s.push_bind(input.cost_price);
    for (col, _) in TEXT_FIELDS {
        s.push_bind(input.text(col).map(str::to_string));
    }
    s.push_bind(input.on_shelf);
    s.push_bind(sqlx::types::Json(input.custom.clone()));
}

fn columns() -> String {
    let mut cols = vec!["code", "name", "category_id", "unit_id", "price", "cost_price"];
    cols.extend(TEXT_FIELDS.iter().map(|(c, _)| *c));
    cols.extend(["on_shelf", "custom"]);
    cols.join(", ")
}

pub async fn insert(tx: &mut PgConnection, input: &ProductInput, code: &str, created_by: i64) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new(format!("INSERT INTO products ({}, created_by) VALUES (", columns()));
    push_values(&mut q, input, code);
    q.push(", ").push_bind(created_by).push(") RETURNING id");
    q.build_query_scalar().fetch_one(tx).await
}

pub async fn update(tx: &mut PgConnection, id: i64, input: &ProductInput, code: &str) -> sqlx::Result<()> {
    let mut q = QueryBuilder::new(format!("UPDATE products SET ({}) = ROW(", columns()));
    push_values(&mut q, input, code);
    q.push(") WHERE id = ").push_bind(id);
    q.build().execute(tx).await?;
    Ok(())
}

/// Keep the price (and cost) the product has from now on in its price history.
pub async fn record_price(
    tx: &mut PgConnection,
    id: i64,
    price: Decimal,
    cost: Option<Decimal>,
    by: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO product_prices (product_id, price, cost_price, changed_by) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(price)
        .bind(cost)
        .bind(by)
        .execute(tx)
        .await?;
    Ok(())
}

/// One entry of a product's price history.
#[derive(sqlx::FromRow)]
pub struct PriceRow {
    pub price: Decimal,
    pub cost_price: Option<Decimal>,
    pub changed_by: Option<String>,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

pub async fn prices(db: &PgPool, id: i64) -> sqlx::Result<Vec<PriceRow>> {
    sqlx::query_as(
        "SELECT pp.price, pp.cost_price, u.name AS changed_by, pp.changed_at
           FROM product_prices pp LEFT JOIN users u ON u.id = pp.changed_by
          WHERE pp.product_id = $1 ORDER BY pp.changed_at DESC, pp.id DESC LIMIT 200",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Put products on or take them off the shelf; returns (id, name) of those that changed.
pub async fn set_shelf(tx: &mut PgConnection, ids: &[i64], on: bool) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "UPDATE products SET on_shelf = $2 WHERE id = ANY($1) AND deleted_at IS NULL AND on_shelf <> $2
         RETURNING id, name",
    )
    .bind(ids)
    .bind(on)
    .fetch_all(tx)
    .await
}

/// Where products are used, for refusing their delete: (product id, name, opportunities,
/// contracts). Records in the recycle bin count too: their lines would point at nothing.
pub async fn usage(tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<(i64, String, i64, i64)>> {
    sqlx::query_as(
        "SELECT p.id, p.name,
                (SELECT count(DISTINCT l.opportunity_id) FROM opportunity_lines l WHERE l.product_id = p.id),
                (SELECT count(DISTINCT l.contract_id) FROM contract_lines l WHERE l.product_id = p.id)
           FROM products p
          WHERE p.id = ANY($1)
            AND (EXISTS (SELECT 1 FROM opportunity_lines l WHERE l.product_id = p.id)
                 OR EXISTS (SELECT 1 FROM contract_lines l WHERE l.product_id = p.id))
          ORDER BY p.id",
    )
    .bind(ids)
    .fetch_all(tx)
    .await
}

/// Products on the shelf, for the line pickers: (id, code, name, price, unit id).
pub async fn on_shelf(db: &PgPool) -> sqlx::Result<Vec<(i64, String, String, Decimal, Option<i64>)>> {
    sqlx::query_as(
        "SELECT id, code, name, price, unit_id FROM products
          WHERE deleted_at IS NULL AND on_shelf ORDER BY name, id LIMIT 5000",
    )
    .fetch_all(db)
    .await
}
