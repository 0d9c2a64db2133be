//! Exported cells: typed values, and the neutralising of text a spreadsheet would run.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

/// One cell of an exported row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Empty,
    /// Always a text cell, however much it looks like a number (phones, codes).
    Text(String),
    Int(i64),
    /// A whole percentage: 60 is 60%.
    Percent(i64),
    /// An amount: a number with two decimals.
    Money(Decimal),
    /// Another decimal (a custom field), with the decimals it has.
    Number(Decimal),
    Date(NaiveDate),
    /// A date and time, local.
    DateTime(NaiveDateTime),
}

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        let s = s.into();
        if s.is_empty() { Value::Empty } else { Value::Text(s) }
    }

    /// The number a spreadsheet stores (a double), read from the decimal's own digits so the
    /// cents come out as written: 1234.56 → "1234.56" → 1234.56.
    pub fn as_f64(d: &Decimal) -> f64 {
        d.to_string().parse().unwrap_or(0.0)
    }

    /// An amount as a CSV writes it: two decimals, no separators ("1234.50").
    pub fn money_text(d: &Decimal) -> String {
        format!("{:.2}", crate::money::cents(*d))
    }
}

/// Text a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, or a tab or carriage return
/// first) gets a `'` in front, so it is shown as typed and never run — in a CSV, and in an .xlsx
/// too (written as a string there already), so saving that sheet as CSV stays safe.
pub fn neutralise(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_text_is_neutralised() {
        for s in ["=1+1", "+8613800000000", "-2", "@SUM(A1)", "\t=x", "\r=x", "=HYPERLINK(\"http://x\")"] {
            assert_eq!(neutralise(s), format!("'{s}"));
        }
        for s in ["", "华信科技", "13800000000", "a=b", " =1"] {
            assert_eq!(neutralise(s), s);
        }
    }

    #[test]
    fn amounts_keep_their_cents() {
        let d: Decimal = "1234567.89".parse().unwrap();
        assert_eq!(Value::as_f64(&d), 1234567.89);
        assert_eq!(Value::money_text(&d), "1234567.89");
        assert_eq!(Value::money_text(&"12".parse().unwrap()), "12.00");
        assert_eq!(Value::money_text(&"0.1".parse().unwrap()), "0.10");
    }
}
