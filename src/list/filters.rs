//! Pieces every list's filter narrowing uses: ids and dates typed in a filter form, date ranges
//! and tree dictionaries as ` AND ...` conditions. Column names are code constants; values bound.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use sqlx::{Postgres, QueryBuilder};

use crate::dicts::Dicts;

/// An id typed in a filter ("" or anything else: no filter).
pub fn id_of(v: &str) -> Option<i64> {
    v.trim().parse().ok()
}

/// Local calendar day "YYYY-MM-DD" → the UTC instant it starts at (`next_day`: the day after,
/// for an inclusive "to" date).
pub fn day_start(d: &str, tz: FixedOffset, next_day: bool) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    Some(midnight(if next_day { date.succ_opt()? } else { date }, tz))
}

/// The UTC instant a local calendar day starts at (a fixed offset has exactly one midnight).
pub fn midnight(day: NaiveDate, tz: FixedOffset) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .single()
        .expect("a fixed offset is unambiguous")
        .with_timezone(&Utc)
}

/// ` AND <column> >= <from day> AND <column> < <the day after to>` for the days given.
pub fn push_day_range(q: &mut QueryBuilder<'_, Postgres>, column: &str, from: &str, to: &str, tz: FixedOffset) {
    if let Some(at) = day_start(from, tz, false) {
        q.push(format_args!(" AND {column} >= ")).push_bind(at);
    }
    if let Some(at) = day_start(to, tz, true) {
        q.push(format_args!(" AND {column} < ")).push_bind(at);
    }
}

/// ` AND <column> >= <min> AND <column> <= <max>` for the amounts typed (bad ones ignored).
pub fn push_amount_range(q: &mut QueryBuilder<'_, Postgres>, column: &str, (min, max): (&str, &str)) {
    if let Ok(min) = crate::money::amount(min) {
        q.push(format_args!(" AND {column} >= ")).push_bind(min);
    }
    if let Ok(max) = crate::money::amount(max) {
        q.push(format_args!(" AND {column} <= ")).push_bind(max);
    }
}

/// ` AND <column> >= <from> AND <column> <= <to>` on a date column, for the dates typed.
pub fn push_date_range(q: &mut QueryBuilder<'_, Postgres>, column: &str, (from, to): (&str, &str)) {
    let date = |v: &str| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
    if let Some(d) = date(from) {
        q.push(format_args!(" AND {column} >= ")).push_bind(d);
    }
    if let Some(d) = date(to) {
        q.push(format_args!(" AND {column} <= ")).push_bind(d);
    }
}

/// ` AND <column> = <id>` for an id typed in the filter.
pub fn push_id(q: &mut QueryBuilder<'_, Postgres>, column: &str, v: &str) {
    if let Some(id) = id_of(v) {
        q.push(format_args!(" AND {column} = ")).push_bind(id);
    }
}

/// ` AND <column> = ANY(<the item and everything below it>)` for a tree dictionary (a province
/// finds its cities too).
pub fn push_dict_subtree(q: &mut QueryBuilder<'_, Postgres>, column: &str, dicts: &Dicts, dict: &str, v: &str) {
    if let Some(id) = id_of(v) {
        q.push(format_args!(" AND {column} = ANY(")).push_bind(dicts.with_descendants(dict, id)).push(")");
    }
}

/// ` AND <column>` / ` AND NOT <column>` for a yes/no filter ("1" / "0").
pub fn push_flag(q: &mut QueryBuilder<'_, Postgres>, column: &str, v: &str) {
    match v {
        "1" => {
            q.push(format_args!(" AND {column}"));
        }
        "0" => {
            q.push(format_args!(" AND NOT {column}"));
        }
        _ => {}
    }
}
