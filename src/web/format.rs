//! How numbers, money and times are shown.

use chrono::{DateTime, DurationRound, FixedOffset, TimeDelta, Utc};
use rust_decimal::Decimal;

pub fn datetime(at: &DateTime<Utc>, tz: FixedOffset) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

pub fn time_of_day(at: &DateTime<Utc>, tz: FixedOffset) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

/// The next whole minute (or `at` itself when it is one): for "try again after HH:MM", which
/// must not name a minute in which the lock still holds.
pub fn ceil_minute(at: &DateTime<Utc>) -> DateTime<Utc> {
    let floor = at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(*at);
    if floor == *at { floor } else { floor + TimeDelta::minutes(1) }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Money with two decimals and separators: 1234567.5 → "1,234,567.50".
pub fn money(d: &Decimal) -> String {
    let rounded = d.round_dp(2);
    let int_part = rounded.trunc().abs().to_string().parse::<i64>().unwrap_or(0);
    let frac = (rounded.fract().abs() * Decimal::from(100)).round().to_string();
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() { "-" } else { "" };
    format!("{sign}{}.{:0>2}", thousands(int_part), frac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn lock_times_round_up() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(time_of_day(&ceil_minute(&at("2024-05-01T02:15:00.000001Z")), tz), "10:16");
        assert_eq!(time_of_day(&ceil_minute(&at("2024-05-01T02:15:59Z")), tz), "10:16");
        assert_eq!(time_of_day(&ceil_minute(&at("2024-05-01T02:15:00Z")), tz), "10:15");
    }

    #[test]
    fn separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
        assert_eq!(money(&Decimal::from_str("1234567.5").unwrap()), "1,234,567.50");
        assert_eq!(money(&Decimal::from_str("-0.05").unwrap()), "-0.05");
    }
}
