//! CSV: UTF-8 with a byte-order mark (so a spreadsheet opening the file reads Chinese right),
//! comma-separated, CRLF line ends, quoted where needed (RFC 4180).

use std::borrow::Cow;

use super::cells::{Value, neutralise};

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file's first bytes: the mark and the header line.
pub fn head(headers: &[String]) -> Vec<u8> {
    let mut out = BOM.to_vec();
    line(&mut out, headers.iter().map(|h| neutralise(h)));
    out
}

/// Lines for `rows`.
pub fn rows(rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 128);
    for row in rows {
        line(&mut out, row.iter().map(field));
    }
    out
}

fn field(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Empty => Cow::Borrowed(""),
        Value::Text(s) => neutralise(s),
        Value::Int(n) => Cow::Owned(n.to_string()),
        Value::Percent(n) => Cow::Owned(format!("{n}%")),
        Value::Money(d) => Cow::Owned(Value::money_text(d)),
        Value::Number(d) => Cow::Owned(d.normalize().to_string()),
        Value::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
        Value::DateTime(at) => Cow::Owned(at.format("%Y-%m-%d %H:%M").to_string()),
    }
}

fn line<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = Cow<'a, str>>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend(f.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend(f.as_bytes());
        }
    }
    out.extend(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_neutralised() {
        let head = head(&["名称".into(), "电话".into()]);
        assert_eq!(&head[..3], BOM);
        assert_eq!(std::str::from_utf8(&head[3..]).unwrap(), "名称,电话\r\n");
        let out = rows(&[vec![
            Value::text("华信, \"科技\""),
            Value::text("=1+1"),
            Value::Money("1234.5".parse().unwrap()),
            Value::text("第一行\n第二行"),
            Value::Empty,
        ]]);
        assert_eq!(std::str::from_utf8(&out).unwrap(), "\"华信, \"\"科技\"\"\",'=1+1,1234.50,\"第一行\n第二行\",\r\n");
    }
}
