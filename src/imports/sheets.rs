//! The workbooks the import pages hand out: the template a module's file starts from, and a
//! batch's error report (its refused rows as they were, with the row number and the reason, ready
//! to fix and import again — the extra columns match no field, so they are ignored then).

use rust_xlsxwriter::{DataValidation, Format, Formula, Workbook, XlsxError};

use super::Kind;
use super::convert::{Target, TargetKind};
use crate::dicts::Dicts;
use crate::fields::{self, FieldDef};
use crate::web::i18n::Lang;

/// Rows of the template that get the drop-downs.
const VALIDATED_ROWS: u32 = 10_000;

/// The values a column offers as a drop-down, if it has a fixed set.
fn choices(t: &Target, dicts: &Dicts, defs: &[FieldDef], lang: Lang) -> Option<Vec<String>> {
    Some(match &t.kind {
        TargetKind::Field(Kind::Dict(d)) => {
            dicts
                .items(d)
                .iter()
                .filter(|it| dicts.is_active(it.id))
                .map(|it| {
                    if dicts.depth(it.id) > 0 {
                        dicts.path_label(Some(it.id), lang)
                    } else {
                        it.label(lang).to_string()
                    }
                })
                .collect()
        }
        TargetKind::Field(Kind::Choice(c)) => c.iter().map(|(_, label)| lang.t(label).to_string()).collect(),
        TargetKind::Custom(i) => match defs[*i].kind() {
            fields::Kind::Select => defs[*i].options.iter().map(|c| c.label(lang).to_string()).collect(),
            fields::Kind::Boolean => vec![lang.t("common.yes").to_string(), lang.t("common.no").to_string()],
            _ => return None,
        },
        _ => return None,
    })
}

/// How a column is to be filled, for the instructions sheet.
fn hint(t: &Target, defs: &[FieldDef], lang: Lang) -> String {
    let key = match &t.kind {
        TargetKind::Field(Kind::Date | Kind::DateTime) => "import.hint.date",
        TargetKind::Field(Kind::Number) => "import.hint.number",
        TargetKind::Field(Kind::Phone) => "import.hint.phone",
        TargetKind::Field(Kind::Dict(_) | Kind::Choice(_)) => "import.hint.choice",
        TargetKind::Field(Kind::User) => "import.hint.user",
        TargetKind::Field(Kind::Text) => "import.hint.text",
        TargetKind::Custom(i) => match defs[*i].kind() {
            fields::Kind::Date | fields::Kind::DateTime => "import.hint.date",
            fields::Kind::Integer | fields::Kind::Decimal => "import.hint.number",
            fields::Kind::Select | fields::Kind::Boolean => "import.hint.choice",
            fields::Kind::MultiSelect => "import.hint.multi",
            fields::Kind::User => "import.hint.user",
            _ => "import.hint.text",
        },
    };
    lang.t(key).to_string()
}

/// The template of a module: its columns on the first sheet (required ones marked "*", text
/// format for phones so Excel keeps them as typed, drop-downs for fixed values), an
/// instructions sheet, and a hidden sheet holding the drop-downs' values.
pub fn template(
    title: &str,
    targets: &[Target],
    dicts: &Dicts,
    defs: &[FieldDef],
    lang: Lang,
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let required = Format::new().set_bold().set_font_color(rust_xlsxwriter::Color::Red);
    let text = Format::new().set_num_format("@");
    let lists: Vec<Option<Vec<String>>> = targets.iter().map(|t| choices(t, dicts, defs, lang)).collect();
    {
        let sheet = book.add_worksheet();
        sheet.set_name(title)?;
        for (c, t) in targets.iter().enumerate() {
            let c = c as u16;
            sheet.write_string_with_format(0, c, t.header(lang), if t.required { &required } else { &bold })?;
            sheet.set_column_width(c, 18)?;
            if matches!(t.kind, TargetKind::Field(Kind::Phone | Kind::Text)) {
                sheet.set_column_format(c, &text)?;
            }
            if let Some(values) = &lists[c as usize]
                && !values.is_empty()
            {
                let col = column_name(c);
                let range = format!("=Lists!${col}$1:${col}${}", values.len());
                let dv = DataValidation::new().allow_list_formula(Formula::new(range));
                sheet.add_data_validation(1, c, VALIDATED_ROWS, c, &dv)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
    }
    {
        let help = book.add_worksheet();
        help.set_name(lang.t("import.template.help_sheet"))?;
        help.set_column_width(0, 24)?;
        help.set_column_width(1, 10)?;
        help.set_column_width(2, 60)?;
        for (r, key) in
            ["import.template.help_1", "import.template.help_2", "import.template.help_3", "import.template.help_4"]
                .iter()
                .enumerate()
        {
            help.write_string(r as u32, 0, lang.t(key))?;
        }
        let top = 6;
        for (c, key) in ["import.template.column", "import.template.required", "import.template.how"].iter().enumerate()
        {
            help.write_string_with_format(top, c as u16, lang.t(key), &bold)?;
        }
        for (i, t) in targets.iter().enumerate() {
            let r = top + 1 + i as u32;
            help.write_string(r, 0, t.label(lang))?;
            help.write_string(r, 1, if t.required { lang.t("common.yes") } else { "" })?;
            help.write_string(r, 2, hint(t, defs, lang))?;
        }
    }
    {
        let hidden = book.add_worksheet();
        hidden.set_name("Lists")?;
        for (c, values) in lists.iter().enumerate() {
            for (r, v) in values.iter().flatten().enumerate() {
                hidden.write_string(r as u32, c as u16, v)?;
            }
        }
        hidden.set_hidden(true);
    }
    book.save_to_buffer()
}

/// "A", "B", ... "AA" for a 0-based column.
fn column_name(mut c: u16) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The error report: the header, then each refused or skipped row as it was, with its row
/// number and reason in two extra columns.
pub fn error_report(
    header: &[String],
    rows: &[(i32, Vec<String>, String, String)],
    lang: Lang,
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(lang.t("import.report.sheet"))?;
    let n = header.len() as u16;
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &bold)?;
        sheet.set_column_width(c as u16, 16)?;
    }
    sheet.write_string_with_format(0, n, lang.t("import.report.row"), &bold)?;
    sheet.write_string_with_format(0, n + 1, lang.t("import.report.result"), &bold)?;
    sheet.write_string_with_format(0, n + 2, lang.t("import.report.reason"), &bold)?;
    sheet.set_column_width(n + 2, 60)?;
    for (i, (no, cells, outcome, reason)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        for (c, v) in cells.iter().enumerate() {
            // Written as text: a re-import reads exactly what was there.
            sheet.write_string(r, c as u16, v)?;
        }
        sheet.write_number(r, n, f64::from(*no))?;
        sheet.write_string(r, n + 1, lang.t(&format!("import.outcome.{outcome}")))?;
        sheet.write_string(r, n + 2, reason)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    book.save_to_buffer()
}
