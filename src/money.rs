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

/// The amount in Chinese capitals (大写金额) as contracts and receipts write it:
/// 1,234.50 → "壹仟贰佰叁拾肆元伍角整", 100,005.07 → "壹拾万零伍元零柒分", 0 → "零元整".
pub fn capitals(d: Decimal) -> String {
    const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
    const PLACES: [&str; 4] = ["", "拾", "佰", "仟"];
    const GROUPS: [&str; 4] = ["", "万", "亿", "万亿"];
    let cents = (cents(d.abs()) * Decimal::from(100)).trunc().to_string().parse::<u128>().unwrap_or(0);
    let (yuan, jiao, fen) = (cents / 100, (cents / 10 % 10) as usize, (cents % 10) as usize);
    let mut out = String::new();
    if yuan > 0 {
        // Groups of four digits from the top (…亿, 万, units); zeros between digits read as one 零.
        let mut groups = Vec::new();
        let mut rest = yuan;
        while rest > 0 {
            groups.push((rest % 10_000) as usize);
            rest /= 10_000;
        }
        let mut gap = false;
        for (k, g) in groups.iter().enumerate().rev() {
            if *g == 0 {
                gap = !out.is_empty();
                continue;
            }
            if gap || (*g < 1000 && !out.is_empty()) {
                out.push('零');
            }
            gap = false;
            let mut inner_zero = false;
            for place in (0..4).rev() {
                let digit = g / 10usize.pow(place as u32) % 10;
                if digit == 0 {
                    inner_zero = inner_zero || g / 10usize.pow(place as u32 + 1) > 0;
                    continue;
                }
                if inner_zero {
                    out.push('零');
                    inner_zero = false;
                }
                out.push(DIGITS[digit]);
                out.push_str(PLACES[place]);
            }
            out.push_str(GROUPS[k.min(3)]);
        }
        out.push('元');
    }
    match (jiao, fen) {
        (0, 0) => {
            if out.is_empty() {
                out.push_str("零元");
            }
            out.push('整');
        }
        (j, 0) => {
            out.push(DIGITS[j]);
            out.push_str("角整");
        }
        (0, f) => {
            if !out.is_empty() {
                out.push('零');
            }
            out.push(DIGITS[f]);
            out.push('分');
        }
        (j, f) => {
            out.push(DIGITS[j]);
            out.push('角');
            out.push(DIGITS[f]);
            out.push('分');
        }
    }
    out
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

    #[test]
    fn capitals_read_as_on_a_cheque() {
        assert_eq!(capitals(d("0")), "零元整");
        assert_eq!(capitals(d("1234.50")), "壹仟贰佰叁拾肆元伍角整");
        assert_eq!(capitals(d("100005.07")), "壹拾万零伍元零柒分");
        assert_eq!(capitals(d("10000")), "壹万元整");
        assert_eq!(capitals(d("1001000.10")), "壹佰万壹仟元壹角整");
        assert_eq!(capitals(d("120000000")), "壹亿贰仟万元整");
        assert_eq!(capitals(d("0.05")), "伍分");
        assert_eq!(capitals(d("80.8")), "捌拾元捌角整");
    }
}
