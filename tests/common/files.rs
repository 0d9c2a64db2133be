//! Downloads: a form POSTed with the client's session, the body kept as bytes (the client reads
//! bodies as text), and readers for the exported .xlsx and CSV files.

use std::io::Cursor;

use axum::body::Body;
use axum::http::{Request, header};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{Client, TestApp};

/// A downloaded file.
pub struct File {
    pub status: u16,
    pub content_type: String,
    pub disposition: String,
    pub bytes: Vec<u8>,
}

impl File {
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).expect("the CSV is UTF-8")
    }

    /// CSV data lines (the header and the byte-order mark left out).
    pub fn csv_rows(&self) -> Vec<String> {
        let text = self.text();
        let text = text.trim_start_matches('\u{feff}');
        text.split("\r\n").skip(1).filter(|l| !l.is_empty()).map(str::to_string).collect()
    }

    /// The .xlsx's first sheet, as rows of cells (the header first).
    pub fn sheet(&self) -> Vec<Vec<Data>> {
        let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(self.bytes.clone())).expect("a readable .xlsx");
        let name = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&name).expect("its sheet");
        range.rows().map(|r| r.to_vec()).collect()
    }
}

/// The index of the column headed `header` in a sheet.
pub fn col(rows: &[Vec<Data>], header: &str) -> usize {
    rows[0].iter().position(|h| h.to_string() == header).unwrap_or_else(|| panic!("no column {header}: {:?}", rows[0]))
}

/// POST a form as the client, keeping the answer's bytes.
pub async fn download(app: &TestApp, c: &mut Client, path: &str, form: &[(&str, &str)]) -> File {
    if c.csrf_token().is_none() {
        c.get("/").await;
    }
    let token = c.csrf_token().expect("a CSRF token");
    let mut fields = vec![("_csrf", token.as_str())];
    fields.extend_from_slice(form);
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let cookie = format!("{}={}", crm::app::SESSION_COOKIE, c.session_id().expect("logged in"));
    let req = Request::post(path)
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "http://localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let h = |name| resp.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let (status, content_type, disposition) =
        (resp.status().as_u16(), h(header::CONTENT_TYPE), h(header::CONTENT_DISPOSITION));
    let bytes = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    File { status, content_type, disposition, bytes }
}

/// Export every row a list's filter matches (`code` as in `/export/<code>`), all fields.
pub async fn export_all(app: &TestApp, c: &mut Client, code: &str, filter: &str, format: &str) -> File {
    let form = [("filter", filter), ("rows", "all"), ("columns", "all"), ("format", format)];
    let f = download(app, c, &format!("/export/{code}"), &form).await;
    assert_eq!(f.status, 200, "export {code}?{filter}: {}", String::from_utf8_lossy(&f.bytes));
    f
}

/// A list's total as its bulk bar says it ("all N matching").
pub async fn list_total(c: &mut Client, path: &str) -> usize {
    let r = c.get(path).await;
    r.assert_status(200);
    let label = r.text_of(".bulk-bar label.check");
    label.chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap_or_else(|_| panic!("{path}: {label}"))
}
