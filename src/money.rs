//! Money, quantities and percentages as typed in forms and as lines add up. Everything is
//! `Decimal` (never floats): amounts keep two places, and a line's subtotal is rounded half up
//! (away from zero) to the cent once, from the exact product of price, quantity and discount.

use rust_decimal::{Decimal, RoundingStrategy};

/// The most a stored amount may be: numeric(14,2) holds 999,999,999,999.99.
fn max_amount() -> Decimal {
    Decimal::new(99_999_999_999_999, 2)
}

/// Text typed in a money, quantity or percent field: thousands separators and spaces are
/// ignored ("1,200.50"), full-width digits are not accepted.
fn parse(text: &str) -> Option<Decimal> {
    let cleaned: String = text.chars().filter(|c| !matches!(c, ',' | ' ' | '，')).collect();
    cleaned.parse::<Decimal>().ok()
}

/// An amount of money: at most two decimal places, not negative. Err is the i18n key.
pub fn amount(text: &str) -> Result<Decimal, &'static str> {
    let d = parse(text).ok_or("money.error.amount")?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err("money.error.negative");
    }
    if d.normalize().scale() > 2 {
        return Err("money.error.places");
    }
    if d > max_amount() {
        return Err("money.error.too_large");
    }
    Ok(d.round_dp(2))
}

/// A quantity: more than zero, at most two decimal places.
pub fn quantity(text: &str) -> Result<Decimal, &'static str> {
    let d = parse(text).ok_or("money.error.quantity")?;
    if d <= Decimal::ZERO {
        return Err("money.error.quantity");
    }
    if d.normalize().scale() > 2 {
        return Err("money.error.places");
    }
    if d >= Decimal::from(10_000_000_000i64) {
        return Err("money.error.too_large");
    }
    Ok(d)
}

/// A discount in percent, 0–100 with at most two places; empty means none.
pub fn percent(text: &str) -> Result<Decimal, &'static str> {
    if text.trim().is_empty() {
        return Ok(Decimal::ZERO);
    }
    let d = parse(text).ok_or("money.error.percent")?;
    if d < Decimal::ZERO || d > Decimal::ONE_HUNDRED || d.normalize().scale() > 2 {
        return Err("money.error.percent");
    }
    Ok(d)
}

/// `amount × (1 − discount %)`, rounded half up to the cent.
pub fn discounted(amount: Decimal, discount: Decimal) -> Decimal {
    cents(amount * (Decimal::ONE_HUNDRED - discount) / Decimal::ONE_HUNDRED)
}

/// A line's subtotal: price × quantity less its discount, rounded half up to the cent.
pub fn subtotal(price: Decimal, quantity: Decimal, discount: Decimal) -> Decimal {
    discounted(price * quantity, discount)
}

/// `amount × rate %` (a win rate), to the cent.
pub fn weighted(amount: Decimal, rate: i16) -> Decimal {
    cents(amount * Decimal::from(rate) / Decimal::ONE_HUNDRED)
}

pub fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// An amount for a form field: "1200.50" (no separators, so it reads back unchanged).
pub fn plain(d: &Decimal) -> String {
    cents(*d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_keep_cents_and_refuse_more() {
        assert_eq!(amount("1,200.5"), Ok(d("1200.50")));
        assert_eq!(amount("0"), Ok(d("0")));
        assert_eq!(amount("1.005"), Err("money.error.places"));
        assert_eq!(amount("-3"), Err("money.error.negative"));
        assert_eq!(amount("abc"), Err("money.error.amount"));
        assert_eq!(amount("1000000000000"), Err("money.error.too_large"));
    }

    #[test]
    fn subtotals_round_half_up_once() {
        // 0.1 × 3 is exactly 0.30 (a float would say 0.30000000000000004).
        assert_eq!(subtotal(d("0.10"), d("3"), d("0")), d("0.30"));
        // 19.99 × 3 × 0.85 = 50.9745 → 50.97; 10.01 × 0.5 = 5.005 → 5.01 (half up, not to even).
        assert_eq!(subtotal(d("19.99"), d("3"), d("15")), d("50.97"));
        assert_eq!(subtotal(d("10.01"), d("0.5"), d("0")), d("5.01"));
        assert_eq!(weighted(d("333.33"), 30), d("100.00"));
        assert_eq!(discounted(d("1000.00"), d("12.5")), d("875.00"));
    }

    #[test]
    fn percents_and_quantities_are_bounded() {
        assert_eq!(percent(""), Ok(Decimal::ZERO));
        assert_eq!(percent("100.01"), Err("money.error.percent"));
        assert_eq!(quantity("0"), Err("money.error.quantity"));
        assert_eq!(quantity("1.5"), Ok(d("1.5")));
    }
}
