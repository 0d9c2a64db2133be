//! .xlsx: one sheet in rust_xlsxwriter's constant-memory mode (each row goes to a temp file as
//! soon as the next one starts), written to a file the handler then streams. Runs on a blocking
//! thread, fed chunks of rows through a channel.

use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use tokio::sync::mpsc::Receiver;

use super::cells::{Value, neutralise};

/// A cell holds at most this many characters.
const MAX_TEXT: usize = 32_767;

/// Write the sheet `name` (header row, then every chunk `rows` delivers) to `path`; how many
/// rows were written.
pub fn write(
    path: &Path,
    name: &str,
    headers: &[String],
    widths: &[f64],
    mut rows: Receiver<Vec<Vec<Value>>>,
) -> Result<u32, XlsxError> {
    let mut book = Workbook::new();
    // Level 3 instead of 6: about a third faster for a file a few percent bigger (as Excel does).
    book.set_zip_compression_level(3);
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let money = Format::new().set_num_format("#,##0.00");
    let percent = Format::new().set_num_format("0%");
    let sheet = book.add_worksheet_with_constant_memory()?;
    sheet.set_name(sheet_name(name))?;
    for (col, w) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *w)?;
    }
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, neutralise(h), &bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let mut row: u32 = 0;
    while let Some(chunk) = rows.blocking_recv() {
        for cells in chunk {
            row += 1;
            for (col, v) in cells.iter().enumerate() {
                let col = col as u16;
                match v {
                    Value::Empty => {}
                    Value::Text(s) => {
                        sheet.write_string(row, col, truncate(&neutralise(s)))?;
                    }
                    Value::Int(n) => {
                        sheet.write_number(row, col, *n as f64)?;
                    }
                    Value::Percent(n) => {
                        sheet.write_number_with_format(row, col, *n as f64 / 100.0, &percent)?;
                    }
                    Value::Money(d) => {
                        sheet.write_number_with_format(row, col, Value::as_f64(d), &money)?;
                    }
                    Value::Number(d) => {
                        sheet.write_number(row, col, Value::as_f64(d))?;
                    }
                    Value::Date(d) => {
                        sheet.write_datetime_with_format(row, col, d, &date)?;
                    }
                    Value::DateTime(at) => {
                        sheet.write_datetime_with_format(row, col, at, &datetime)?;
                    }
                }
            }
        }
    }
    book.save(path)?;
    Ok(row)
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
    if clean.trim().is_empty() { "Sheet1".into() } else { clean }
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_TEXT { s.to_string() } else { s.chars().take(MAX_TEXT).collect() }
}
