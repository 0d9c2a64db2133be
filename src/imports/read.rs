//! Reading an uploaded file into rows of text: .xlsx and .xls through calamine, .csv in UTF-8
//! (with or without BOM), UTF-16 with BOM, or GBK/GB18030 (what Excel on a Chinese Windows
//! saves), detected.
//!
//! Cells become text the way a person reads them: dates as `2026-03-05` (or with the time when
//! there is one), numbers without exponent or a trailing `.0` (a phone number typed into a number
//! cell stays `13800138000`), booleans as TRUE/FALSE. A merged range gives its value to every
//! cell it covers. Rows with nothing in them are left out but keep their row numbers.

use std::io::Cursor;

use calamine::{Data, Reader, Sheets, open_workbook_auto_from_rs};

/// A sheet's non-empty rows: (row number, 1-based as the spreadsheet shows it; cells).
pub type SheetRows = Vec<(i32, Vec<String>)>;

/// Why a file cannot be read: an i18n key.
#[derive(Debug, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// The name CSV files get as their one sheet.
pub const CSV_SHEET: &str = "CSV";

fn is_csv(file_name: &str) -> bool {
    file_name.to_lowercase().ends_with(".csv")
}

/// Accepted by name: .xlsx, .xls, .csv.
pub fn accepted(file_name: &str) -> bool {
    let n = file_name.to_lowercase();
    n.ends_with(".xlsx") || n.ends_with(".xls") || n.ends_with(".csv")
}

fn workbook(bytes: &[u8]) -> Result<Sheets<Cursor<&[u8]>>, Unreadable> {
    open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| Unreadable("import.error.unreadable"))
}

/// The file's sheets, in order (a CSV has one).
pub fn sheet_names(file_name: &str, bytes: &[u8]) -> Result<Vec<String>, Unreadable> {
    if is_csv(file_name) {
        return Ok(vec![CSV_SHEET.to_string()]);
    }
    Ok(workbook(bytes)?.sheet_names())
}

/// Every non-empty row of one sheet, the header included.
pub fn sheet(file_name: &str, bytes: &[u8], sheet: &str) -> Result<SheetRows, Unreadable> {
    if is_csv(file_name) {
        return Ok(numbered(csv_rows(&decode(bytes))));
    }
    let mut book = workbook(bytes)?;
    let range = book.worksheet_range(sheet).map_err(|_| Unreadable("import.error.no_sheet"))?;
    let (top, left) = range.start().unwrap_or((0, 0));
    let mut rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(cell_text).collect()).collect();
    // A row with nothing typed in it stays empty even where a merged range above reaches it.
    let typed: Vec<bool> = rows.iter().map(|r| r.iter().any(|c| !c.trim().is_empty())).collect();
    if let Sheets::Xlsx(x) = &mut book {
        for m in x.merge_cells_by_sheet_name(sheet).unwrap_or_default() {
            fill_merged(&mut rows, (top, left), m.start, m.end);
        }
    }
    for (row, typed) in rows.iter_mut().zip(typed) {
        if !typed {
            row.clear();
        }
    }
    // Rows before the range's first row are empty in the sheet: keep the numbering right.
    Ok(numbered(rows).into_iter().map(|(n, cells)| (n + top as i32, cells)).collect())
}

/// Copy a merged range's top-left value into the cells it covers (all absolute positions).
fn fill_merged(rows: &mut [Vec<String>], (top, left): (u32, u32), start: (u32, u32), end: (u32, u32)) {
    let at = |(r, c): (u32, u32)| (r.checked_sub(top), c.checked_sub(left));
    let (Some(r0), Some(c0)) = at(start) else { return };
    let value = rows.get(r0 as usize).and_then(|r| r.get(c0 as usize)).cloned().unwrap_or_default();
    for r in start.0..=end.0 {
        for c in start.1..=end.1 {
            if let (Some(r), Some(c)) = at((r, c))
                && let Some(cell) = rows.get_mut(r as usize).and_then(|row| row.get_mut(c as usize))
                && cell.is_empty()
            {
                *cell = value.clone();
            }
        }
    }
}

/// Rows numbered from 1, the empty ones left out, trailing empty cells trimmed.
fn numbered(rows: Vec<Vec<String>>) -> SheetRows {
    rows.into_iter()
        .enumerate()
        .filter_map(|(i, mut cells)| {
            cells.iter_mut().for_each(clean);
            while cells.last().is_some_and(|c| c.trim().is_empty()) {
                cells.pop();
            }
            (!cells.is_empty()).then_some((i as i32 + 1, cells))
        })
        .collect()
}

/// What the web's input layer does to typed text, done to a cell: NUL characters (which
/// Postgres cannot store, and no one types) dropped, and bidi controls dropped from a
/// single-line value (they can make a name read backwards).
fn clean(cell: &mut String) {
    if cell.contains('\0') {
        cell.retain(|c| c != '\0');
    }
    if !cell.contains('\n') && cell.chars().any(crate::web::input::is_bidi_control) {
        *cell = crate::web::input::strip_bidi(cell).into_owned();
    }
}

/// A cell as text.
pub fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => number_text(dt.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// A float as people typed it: no exponent, no trailing ".0" (Rust's shortest round-trip
/// digits, so 0.1 stays "0.1").
pub fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e17 { format!("{}", f as i64) } else { format!("{f}") }
}

/// The file's text: UTF-8 (a BOM dropped), UTF-16 with a BOM, else GB18030 (a superset of GBK).
pub fn decode(bytes: &[u8]) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// CSV rows (RFC 4180: quoted fields may hold commas, quotes doubled, line breaks). The
/// delimiter is a comma, or a semicolon / tab when the first line has those and no comma.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let first = text.lines().next().unwrap_or("");
    let delim = if first.contains(',') {
        ','
    } else if first.contains('\t') {
        '\t'
    } else if first.contains(';') {
        ';'
    } else {
        ','
    };
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            c if c == delim => row.push(std::mem::take(&mut field).trim().to_string()),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field).trim().to_string());
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field.trim().to_string());
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas_and_line_breaks() {
        let rows = csv_rows("名称,备注\r\n\"星辰, 科技\",\"第一行\n第二行 \"\"引号\"\"\"\n");
        assert_eq!(rows, vec![vec!["名称", "备注"], vec!["星辰, 科技", "第一行\n第二行 \"引号\""]]);
    }

    #[test]
    fn gbk_and_bom_text_decode() {
        let (gbk, _, _) = encoding_rs::GBK.encode("客户名称,电话\n星辰科技,010");
        assert_eq!(decode(&gbk), "客户名称,电话\n星辰科技,010");
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend("名称".as_bytes());
        assert_eq!(decode(&bom), "名称");
    }

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(number_text(13800138000.0), "13800138000");
        assert_eq!(number_text(1234.5), "1234.5");
        assert_eq!(number_text(0.1), "0.1");
    }
}
