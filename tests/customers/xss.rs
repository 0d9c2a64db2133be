//! The XSS corpus through the create form of every registered record kind: every text field of
//! the form (read from the `/new` page, so a new kind's fields are filled without being listed)
//! holds the payload, then every page that shows it — the detail, its history, the list, the
//! top bar's search, the exported CSV, the notification of a transfer, the approval page — is
//! inert: no element, attribute or URL made from the payload, the payload shown as text.

use scraper::{Html, Selector};

use super::common::files::export_all;
use super::common::{Client, TestApp};

/// `{n}` is replaced by a marker unique to the record, which the list's and the search's
/// keyword find.
pub const PAYLOADS: &[&str] = &[
    "XSS{n} <script>alert(1)</script>",
    "XSS{n} \"><img src=x onerror=alert(1)>'><svg onload=alert(1)>",
    "javascript:alert(1)//XSS{n}",
    "XSS{n} {{7*7}} {% raw %}{{ ctx }}{% endraw %} ${7*7} <%= 7*7 %>",
    "XSS{n} \u{202E}exe.pdf",
    "LONG",
];

pub fn payload(i: usize, n: usize) -> String {
    let p = PAYLOADS[i];
    if p == "LONG" {
        let mut s = format!("XSS{n} ");
        while s.len() < 20_000 {
            s.push_str("<script>alert(1)</script>\"><img src=x onerror=alert(1)>");
        }
        s.truncate(20_000);
        s
    } else {
        p.replace("{n}", &n.to_string())
    }
}

/// What makes a page not inert: elements, handlers and URLs made from a payload.
pub fn dangers(body: &str) -> Vec<String> {
    let html = Html::parse_document(body);
    let mut out = Vec::new();
    for e in html.select(&Selector::parse("*").unwrap()) {
        let v = e.value();
        for (name, value) in v.attrs() {
            if name.starts_with("on") {
                out.push(format!("<{} {name}={value:?}>", v.name()));
            }
            let url = value.trim().to_ascii_lowercase();
            if ["href", "src", "action", "formaction", "data"].contains(&name) && url.starts_with("javascript:") {
                out.push(format!("<{} {name}={value:?}>", v.name()));
            }
        }
        let name = v.name();
        if name == "script" && e.text().collect::<String>().contains("alert") {
            out.push("<script>alert…".into());
        }
        if (name == "img" && v.attr("src") == Some("x")) || name == "svg" && v.attr("onload").is_some() {
            out.push(format!("<{name} src=x>"));
        }
    }
    for raw in ["<script>alert(1)", "<img src=x", "<svg onload"] {
        if body.contains(raw) {
            out.push(format!("raw {raw:?} in the HTML"));
        }
    }
    out
}

/// The create form of `new_page`: field name → value, text fields filled with `text`.
fn fill_form(
    page: &str,
    text: &str,
    safe: &std::collections::HashMap<String, String>,
    days_back: i64,
) -> Vec<(String, String)> {
    let html = Html::parse_document(page);
    let forms = Selector::parse("main form[method=post]").unwrap();
    let fields = Selector::parse("input[name], textarea[name], select[name]").unwrap();
    let option = Selector::parse("option").unwrap();
    let form = html.select(&forms).max_by_key(|f| f.select(&fields).count()).expect("a form");
    // Kinds with one record per period (work logs) get a day of their own per payload.
    let today = (chrono::Local::now().date_naive() - chrono::Duration::days(days_back)).to_string();
    let mut out = Vec::new();
    for f in form.select(&fields) {
        let v = f.value();
        let name = v.attr("name").unwrap().to_string();
        if name == "_csrf" {
            continue;
        }
        let value = match (v.name(), v.attr("type").unwrap_or("text")) {
            ("select", _) => {
                let opts: Vec<_> = f.select(&option).collect();
                let chosen = opts
                    .iter()
                    .find(|o| o.value().attr("selected").is_some())
                    .or_else(|| opts.iter().find(|o| !o.value().attr("value").unwrap_or_default().is_empty()));
                match chosen {
                    Some(o) => o.value().attr("value").unwrap_or_default().to_string(),
                    None => continue,
                }
            }
            ("textarea", _) => text.to_string(),
            // A picker's search box names a record to link (its hidden id is prefilled), and
            // empty product lines stay empty.
            _ if name.ends_with("_q") || name.starts_with("line_") => v.attr("value").unwrap_or_default().to_string(),
            (_, "hidden") => v.attr("value").unwrap_or_default().to_string(),
            (_, "checkbox" | "radio") => {
                if v.attr("checked").is_none() {
                    continue;
                }
                v.attr("value").unwrap_or("on").to_string()
            }
            (_, "date") => today.clone(),
            (_, "datetime-local") => format!("{today}T09:00"),
            (_, "month") => today[..7].to_string(),
            (_, "time") => "09:00".into(),
            (_, "number") => "1".into(),
            (_, "file" | "submit" | "button" | "password") => continue,
            _ => text.to_string(),
        };
        let value = safe.get(&name).cloned().unwrap_or(value);
        out.push((name, value));
    }
    out
}

/// A value a field that refused the payload takes: shorter (keeping the marker), then typed.
fn fallback(name: &str, page: &str, text: &str, tried: Option<&String>) -> String {
    let short: String = text.chars().take(60).collect();
    if tried.is_none() && short != text {
        return short;
    }
    let html = Html::parse_document(page);
    let default = html
        .select(&Selector::parse(&format!("input[name=\"{name}\"]")).unwrap())
        .next()
        .and_then(|e| e.value().attr("value").map(String::from))
        .unwrap_or_default();
    if tried.is_some_and(|t| *t != default && !t.is_empty() && t.len() <= 60 && t.starts_with("XSS"))
        || tried.is_some_and(|t| t.len() > 60)
    {
        return default;
    }
    let ty = html
        .select(&Selector::parse(&format!("[name=\"{name}\"]")).unwrap())
        .next()
        .and_then(|e| e.value().attr("type").map(String::from))
        .unwrap_or_default();
    match (ty.as_str(), name) {
        ("email", _) | (_, "email") => "xss@example.com".into(),
        ("url", _) | (_, "website") => "https://example.com".into(),
        ("tel", _) | (_, "mobile" | "phone") => "13900000000".into(),
        _ if name.contains("amount") || name.contains("price") => "100".into(),
        _ if tried.is_some_and(|t| t == "x") => String::new(),
        _ => "x".into(),
    }
}

/// Create a record of `def` through its `/new` form with `text` in every text field; its id.
pub async fn create(
    c: &mut Client,
    def: &crm::records::RecordDef,
    query: &str,
    text: &str,
    days_back: i64,
) -> Result<i64, String> {
    // A form whose period comes from the page's query (work logs) gets the day too.
    let day = chrono::Local::now().date_naive() - chrono::Duration::days(days_back);
    let new = c.get(&format!("{}/new?{query}&date={day}", def.path)).await;
    if new.status != 200 {
        return Err(format!("GET {}/new: {}", def.path, new.status));
    }
    let mut page = new.body.clone();
    let mut safe = std::collections::HashMap::new();
    let mut last = String::new();
    for _ in 0..5 {
        let mut form = fill_form(&new.body, text, &safe, days_back);
        // Look-alike names warn; the payloads are meant to be saved.
        form.push(("confirm_dup".into(), "1".into()));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = c.post(def.path, &pairs).await;
        if r.status.is_redirection() {
            let loc = r.location();
            let id = loc.trim_start_matches(def.path).trim_start_matches('/');
            let id: String = id.chars().take_while(char::is_ascii_digit).collect();
            return id.parse().map_err(|_| format!("created, but went to {loc}"));
        }
        if r.status != 422 && r.status != 200 {
            return Err(format!("POST {}: {}", def.path, r.status));
        }
        page = r.body.clone();
        let html = r.html();
        let bad: Vec<String> = html
            .select(&Selector::parse(".has-error [name]").unwrap())
            .filter_map(|e| e.value().attr("name").map(String::from))
            .collect();
        if bad.is_empty() {
            return Err(format!("POST {}: {} {}", def.path, r.status, r.text_of(".flash, .form-errors, .field-error")));
        }
        last = format!("{bad:?}: {}", r.text_of(".field-error"));
        for name in bad {
            let v = fallback(&name, &new.body, text, safe.get(&name));
            safe.insert(name, v);
        }
    }
    drop(page);
    Err(format!("POST {}: still refused: {last}", def.path))
}

#[tokio::test]
async fn the_corpus_through_every_create_form_renders_inert_on_every_page_that_shows_it() {
    let started = std::time::Instant::now();
    // The detector itself: markup made from a payload is caught, the payload as text is not.
    for i in 0..PAYLOADS.len() - 1 {
        let p = payload(i, 1);
        let escaped = p.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
        assert!(dangers(&format!("<p title=\"{escaped}\">{escaped}</p>")).is_empty(), "{p}");
        if i < 3 {
            assert!(!dangers(&format!("<p>{p}</p><a href=\"{p}\">a</a>")).is_empty(), "{p}");
        }
    }
    super::common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let mut admin = app.client();
    admin.login("admin", crm::seed::demo::ADMIN.1).await;
    let mut rep = app.client();
    rep.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;
    let rep_id: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = '13800000003'").fetch_one(&app.db).await.unwrap();
    // Parents the child kinds' forms take (an approved contract for a payment).
    let customer: i64 = sqlx::query_scalar("SELECT min(id) FROM customers").fetch_one(&app.db).await.unwrap();
    let contract: i64 =
        sqlx::query_scalar("SELECT min(id) FROM contracts WHERE status = 'approved'").fetch_one(&app.db).await.unwrap();
    let query = format!("customer_id={customer}&contract_id={contract}");
    let registry = crm::app::install();
    let mut wrong = Vec::new();
    let (mut records, mut pages, mut fields) = (0, 0, 0);
    let mut n = 1000;
    for def in registry.records() {
        for i in 0..PAYLOADS.len() {
            n += 1;
            let text = payload(i, n);
            let marker = format!("XSS{n}");
            let id = match create(&mut admin, def, &query, &text, 200 + i as i64).await {
                Ok(id) => id,
                Err(e) => {
                    wrong.push(format!("{} payload {i}: {e}", def.entity));
                    continue;
                }
            };
            records += 1;
            if i == 0 {
                let new = admin.get(&format!("{}/new?{query}", def.path)).await;
                fields += fill_form(&new.body, "T", &Default::default(), 0).iter().filter(|(_, v)| v == "T").count();
            }
            let stored: String = sqlx::query_scalar(&format!(
                "SELECT coalesce(to_jsonb(t)::text, '') FROM {} t WHERE id = $1",
                def.table
            ))
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
            let mut urls = vec![
                def.url(id),
                format!("{}?tab=history", def.url(id)),
                format!("{}?scene=all&q={marker}", def.path),
                format!("/search?q={marker}"),
            ];
            // Where the record went through an approval.
            let inst: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM approval_instances WHERE record_id = $1")
                .bind(id)
                .fetch_one(&app.db)
                .await
                .unwrap();
            if let Some(inst) = inst {
                urls.push(format!("/approvals/{inst}"));
                urls.push("/approvals".into());
            }
            let mut shown = false;
            for url in urls {
                let mut r = admin.get(&url).await;
                if r.status.is_redirection() {
                    // A list that opens on its default view (the calendar's).
                    r = admin.get(&r.location()).await;
                }
                pages += 1;
                if r.status != 200 {
                    wrong.push(format!("{} payload {i}: GET {url} {}", def.entity, r.status));
                    continue;
                }
                for d in dangers(&r.body) {
                    wrong.push(format!("{} payload {i}: GET {url}: {d}", def.entity));
                }
                shown |= r.html().root_element().text().collect::<String>().contains(&marker);
            }
            if !shown && stored.contains(&marker) {
                wrong.push(format!("{} payload {i}: stored but shown on no page", def.entity));
            }
            if text.contains('\u{202E}') && stored.contains('\u{202E}') {
                // Multi-line fields keep it; the record's one-line title must not.
                let title: String =
                    sqlx::query_scalar(&format!("SELECT ({})::text FROM {} t WHERE id = $1", def.title, def.table))
                        .bind(id)
                        .fetch_one(&app.db)
                        .await
                        .unwrap();
                if title.contains('\u{202E}') {
                    wrong.push(format!("{}: an RTL override kept in its title", def.entity));
                }
            }
            // The export of its list: a file, not a page, holding the text as typed.
            if let Some(x) = registry.exports().iter().find(|x| x.list_path == def.path) {
                let f = export_all(&app, &mut admin, x.code, &format!("scene=all&q={marker}"), "csv").await;
                pages += 1;
                if f.content_type.contains("html") || !f.disposition.starts_with("attachment") {
                    wrong.push(format!(
                        "{}: the export is served as {} / {}",
                        def.entity, f.content_type, f.disposition
                    ));
                }
            }
            // A transfer's notification names the record to its new owner.
            if def.owned && def.features.transfer {
                admin.post(&format!("{}/transfer", def.url(id)), &[("new_owner", &rep_id.to_string())]).await;
                let r = rep.get("/notifications").await;
                pages += 1;
                for d in dangers(&r.body) {
                    wrong.push(format!("{} payload {i}: the notification: {d}", def.entity));
                }
                let r = rep.get("/").await;
                for d in dangers(&r.body) {
                    wrong.push(format!("{} payload {i}: the bell: {d}", def.entity));
                }
            }
        }
    }
    eprintln!(
        "xss: {} payloads × {} kinds = {records} records through {fields} text fields of the create forms, {pages} pages checked, {:.1}s",
        PAYLOADS.len(),
        registry.records().count(),
        started.elapsed().as_secs_f64()
    );
    assert!(wrong.is_empty(), "{} failures:\n{}", wrong.len(), wrong.join("\n"));
}
