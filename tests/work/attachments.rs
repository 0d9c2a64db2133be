//! Attachments on customers: upload with the original name and type, forced-download serving,
//! the size limit, visibility and edit rights, deletion by the uploader or an editor, audit,
//! CSRF on multipart posts, and the tab partial.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use crm::app::AppState;
use crm::attachments::{self, Panel, TabView};
use crm::modules::customers::RECORD as CUSTOMER;
use crm::web::i18n::Lang;
use crm::web::{PageCtx, RequestCtx};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::common::{Client, Resp, TestApp};

const PDF: &str = "%PDF-1.4\n合同正文：甲方乙方\n%%EOF\n";
const HTML: &str = "<html><script>alert(document.cookie)</script></html>";

struct World {
    app: TestApp,
    /// Owned by rep; other_rep is a read-only team member of it.
    customer: i64,
    /// Also rep's.
    second: i64,
    rep: i64,
    other_rep: i64,
}

async fn world_with(adjust: impl FnOnce(&mut crm::config::Config)) -> World {
    super::common::init_logging();
    let app = TestApp::with_config(adjust).await;
    let root = app.root_dept().await;
    let sales = app.dept("销售部", Some(root)).await;
    let rep = app.user("rep", sales, None, &["rep"]).await;
    let other_rep = app.user("other", sales, None, &["rep"]).await;
    app.user("outsider", sales, None, &["rep"]).await;
    let (customer, second) = (new_customer(&app, "华信科技", rep).await, new_customer(&app, "宏达实业", rep).await);
    member(&app, customer, other_rep, "read").await;
    World { app, customer, second, rep, other_rep }
}

async fn world() -> World {
    world_with(|_| {}).await
}

async fn new_customer(app: &TestApp, name: &str, owner: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
         VALUES ($1, $2, $2, (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $3)
         RETURNING id",
    )
    .bind(format!("AT-{name}"))
    .bind(name)
    .bind(owner)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn member(app: &TestApp, customer: i64, user: i64, access: &str) {
    sqlx::query(
        "INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', $1, $2, $3)
         ON CONFLICT (entity, record_id, user_id) DO UPDATE SET access = EXCLUDED.access",
    )
    .bind(customer)
    .bind(user)
    .bind(access)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn current_user(app: &TestApp, id: i64) -> crm::auth::CurrentUser {
    crm::auth::fetch_user(&app.db, id).await.unwrap().unwrap().0
}

fn base(id: i64) -> String {
    format!("/customers/{id}/attachments")
}

async fn upload(c: &mut Client, id: i64, files: &[(&str, &str, Vec<u8>)]) -> Resp {
    let parts: Vec<(&str, &str, &str, Vec<u8>)> =
        files.iter().map(|(name, mime, data)| ("file", *name, *mime, data.clone())).collect();
    c.post_multipart(&base(id), &[], &parts).await
}

async fn attachment_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM attachments WHERE name = $1").bind(name).fetch_one(&app.db).await.unwrap()
}

async fn flash_after(c: &mut Client, r: &Resp) -> String {
    c.get(&r.location()).await.text_of(".flash")
}

async fn audit_notes(app: &TestApp, customer: i64, action: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT note FROM operation_logs WHERE entity = 'customer' AND entity_id = $1 AND action = $2 ORDER BY id",
    )
    .bind(customer)
    .bind(action)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[track_caller]
fn assert_forced_download(r: &Resp, ascii: &str, encoded: &str) {
    r.assert_status(200);
    let h = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert_eq!(h("content-type"), "application/octet-stream");
    assert_eq!(h("content-disposition"), format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"));
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("cache-control"), "private, no-store");
}

#[tokio::test]
async fn the_owner_uploads_files_and_downloads_them_as_attachments() {
    let w = world().await;
    let mut rep = w.app.login("rep").await;
    // Several files at once; a Chinese name with a browser's fake path, and an HTML page.
    let r = upload(
        &mut rep,
        w.customer,
        &[
            ("C:\\fakepath\\合同扫描件.pdf", "application/pdf", PDF.as_bytes().to_vec()),
            ("page.html", "text/html; charset=utf-8", HTML.as_bytes().to_vec()),
        ],
    )
    .await;
    r.assert_redirect(&format!("/customers/{}?tab=attachments", w.customer));
    assert!(flash_after(&mut rep, &r).await.contains("已上传 2 个附件"));

    let rows: Vec<(String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT name, content_type, size, sha256, uploaded_by FROM attachments
         WHERE entity = 'customer' AND record_id = $1 ORDER BY id",
    )
    .bind(w.customer)
    .fetch_all(&w.app.db)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                "合同扫描件.pdf".to_string(),
                "application/pdf".to_string(),
                PDF.len() as i64,
                hex::encode(Sha256::digest(PDF.as_bytes())),
                w.rep
            ),
            (
                "page.html".to_string(),
                "text/html".to_string(),
                HTML.len() as i64,
                hex::encode(Sha256::digest(HTML.as_bytes())),
                w.rep
            ),
        ]
    );
    // The kernel's list: newest first, with the uploader's name.
    let list = attachments::list(&w.app.db, "customer", w.customer).await.unwrap();
    assert_eq!(list.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["page.html", "合同扫描件.pdf"]);
    assert_eq!(list[0].uploaded_by_name.as_deref(), Some("用户rep"));
    assert!(attachments::list(&w.app.db, "customer", w.second).await.unwrap().is_empty());

    let pdf = attachment_id(&w.app, "合同扫描件.pdf").await;
    let d = rep.get(&format!("{}/{pdf}", base(w.customer))).await;
    assert_forced_download(&d, "attachment.pdf", "%E5%90%88%E5%90%8C%E6%89%AB%E6%8F%8F%E4%BB%B6.pdf");
    assert_eq!(d.body, PDF, "the very bytes");
    // Stored as text/html, served as opaque bytes to save.
    let html = attachment_id(&w.app, "page.html").await;
    let d = rep.get(&format!("{}/{html}", base(w.customer))).await;
    assert_forced_download(&d, "page.html", "page.html");
    assert_eq!(d.body, HTML);

    // Each upload is on the customer's record history.
    assert_eq!(audit_notes(&w.app, w.customer, "attach").await, ["合同扫描件.pdf", "page.html"]);
    let history = rep.get(&format!("/customers/{}?tab=history", w.customer)).await.text_of("#tab-history");
    assert!(history.contains("用户rep 上传了附件（合同扫描件.pdf）"), "{history}");
}

#[tokio::test]
async fn files_above_axums_default_body_limit_but_within_ours_are_accepted() {
    let w = world().await;
    let mut rep = w.app.login("rep").await;
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let r = upload(&mut rep, w.customer, &[("scan.txt", "text/plain", big.clone())]).await;
    r.assert_redirect(&format!("/customers/{}?tab=attachments", w.customer));
    let (size, sha): (i64, String) =
        sqlx::query_as("SELECT size, sha256 FROM attachments").fetch_one(&w.app.db).await.unwrap();
    assert_eq!((size, sha), (big.len() as i64, hex::encode(Sha256::digest(&big))));
}

#[tokio::test]
async fn files_over_the_size_limit_are_refused_with_a_message_and_nothing_is_stored() {
    let w = world_with(|c| c.upload_limit_mb = 1).await;
    let mut rep = w.app.login("rep").await;
    let big = vec![b'x'; 1024 * 1024 + 200 * 1024];
    let r = upload(&mut rep, w.customer, &[("x.pdf", "application/pdf", big)]).await;
    r.assert_redirect(&format!("/customers/{}?tab=attachments", w.customer));
    assert!(flash_after(&mut rep, &r).await.contains("「x.pdf」超过 1 MB 的大小上限，未上传。"));
    assert_eq!(w.app.count("SELECT count(*) FROM attachments").await, 0);
    assert!(audit_notes(&w.app, w.customer, "attach").await.is_empty());

    // With a good file alongside, still nothing is stored, and the user is told so.
    let r = upload(
        &mut rep,
        w.customer,
        &[("ok.txt", "text/plain", b"fine".to_vec()), ("大文件.zip", "application/zip", vec![0u8; 1024 * 1024 + 1])],
    )
    .await;
    let flash = flash_after(&mut rep, &r).await;
    assert!(flash.contains("「大文件.zip」超过 1 MB 的大小上限") && flash.contains("其他文件也未上传"), "{flash}");
    assert_eq!(w.app.count("SELECT count(*) FROM attachments").await, 0);

    // Exactly at the limit is fine.
    let r = upload(&mut rep, w.customer, &[("edge.bin", "", vec![7u8; 1024 * 1024])]).await;
    assert!(flash_after(&mut rep, &r).await.contains("已上传附件「edge.bin」"));
    let ct: String = sqlx::query_scalar("SELECT content_type FROM attachments").fetch_one(&w.app.db).await.unwrap();
    assert_eq!(ct, "application/octet-stream", "no type given");

    // No file chosen, and an empty file.
    let r = rep.post_multipart(&base(w.customer), &[], &[("file", "", "application/octet-stream", Vec::new())]).await;
    assert!(flash_after(&mut rep, &r).await.contains("请选择要上传的文件"));
    let r = upload(&mut rep, w.customer, &[("空.txt", "text/plain", Vec::new())]).await;
    assert!(flash_after(&mut rep, &r).await.contains("「空.txt」是空文件，未上传。"));
    assert_eq!(w.app.count("SELECT count(*) FROM attachments").await, 1);
}

#[tokio::test]
async fn outside_the_scope_every_attachment_route_is_not_found() {
    let w = world().await;
    let mut rep = w.app.login("rep").await;
    upload(&mut rep, w.customer, &[("合同扫描件.pdf", "application/pdf", PDF.as_bytes().to_vec())]).await;
    let aid = attachment_id(&w.app, "合同扫描件.pdf").await;
    let url = format!("{}/{aid}", base(w.customer));

    let mut outsider = w.app.login("outsider").await;
    outsider.get(&url).await.assert_status(404);
    assert!(!outsider.get(&url).await.body.contains("%PDF"));
    upload(&mut outsider, w.customer, &[("x.txt", "text/plain", b"x".to_vec())]).await.assert_status(404);
    outsider.post(&format!("{url}/delete"), &[]).await.assert_status(404);
    assert_eq!(w.app.count("SELECT count(*) FROM attachments").await, 1);

    // An attachment is only reachable under its own record.
    rep.get(&format!("{}/{aid}", base(w.second))).await.assert_status(404);
    rep.post(&format!("{}/{aid}/delete", base(w.second)), &[]).await.assert_status(404);
    rep.get(&format!("{}/{}", base(w.customer), aid + 1000)).await.assert_status(404);

    // Records in the recycle bin keep theirs out of reach.
    sqlx::query("UPDATE customers SET deleted_at = now() WHERE id = $1")
        .bind(w.customer)
        .execute(&w.app.db)
        .await
        .unwrap();
    rep.get(&url).await.assert_status(404);
}

#[tokio::test]
async fn a_reader_downloads_but_cannot_upload_or_delete_and_the_uploader_may_delete() {
    let w = world().await;
    let mut rep = w.app.login("rep").await;
    upload(&mut rep, w.customer, &[("报价单.xlsx", "application/vnd.ms-excel", b"owner's".to_vec())]).await;
    let owners = attachment_id(&w.app, "报价单.xlsx").await;

    // other_rep is a read-only team member: sees and downloads, changes nothing.
    let mut other = w.app.login("other").await;
    let d = other.get(&format!("{}/{owners}", base(w.customer))).await;
    assert_forced_download(&d, "attachment.xlsx", "%E6%8A%A5%E4%BB%B7%E5%8D%95.xlsx");
    assert_eq!(d.body, "owner's");
    upload(&mut other, w.customer, &[("mine.txt", "text/plain", b"x".to_vec())]).await.assert_status(403);
    other.post(&format!("{}/{owners}/delete", base(w.customer)), &[]).await.assert_status(403);
    assert_eq!(w.app.count("SELECT count(*) FROM attachments").await, 1);

    // A read-only role cannot reach the upload at all.
    let root = w.app.root_dept().await;
    let viewer = w.app.user("viewer", root, None, &["readonly"]).await;
    member(&w.app, w.customer, viewer, "read").await;
    let mut viewer_c = w.app.login("viewer").await;
    viewer_c.get(&format!("{}/{owners}", base(w.customer))).await.assert_status(200);
    upload(&mut viewer_c, w.customer, &[("v.txt", "text/plain", b"v".to_vec())]).await.assert_status(403);

    // As a read-write member other_rep uploads; back to read-only, they may still delete their own.
    member(&w.app, w.customer, w.other_rep, "write").await;
    upload(&mut other, w.customer, &[("纪要.docx", "application/msword", b"notes".to_vec())]).await;
    let theirs = attachment_id(&w.app, "纪要.docx").await;
    member(&w.app, w.customer, w.other_rep, "read").await;
    let r = other.post(&format!("{}/{theirs}/delete", base(w.customer)), &[]).await;
    r.assert_redirect(&format!("/customers/{}?tab=attachments", w.customer));
    assert!(flash_after(&mut other, &r).await.contains("已删除附件「纪要.docx」"));
    other.post(&format!("{}/{owners}/delete", base(w.customer)), &[]).await.assert_status(403);

    // An editor deletes anyone's; a frozen customer takes no changes.
    upload(&mut other, w.customer, &[("x.txt", "text/plain", b"x".to_vec())]).await.assert_status(403);
    member(&w.app, w.customer, w.other_rep, "write").await;
    upload(&mut other, w.customer, &[("again.txt", "text/plain", b"again".to_vec())]).await;
    let again = attachment_id(&w.app, "again.txt").await;
    rep.post(&format!("{}/{again}/delete", base(w.customer)), &[])
        .await
        .assert_redirect(&format!("/customers/{}?tab=attachments", w.customer));
    sqlx::query("UPDATE customers SET frozen = true WHERE id = $1").bind(w.customer).execute(&w.app.db).await.unwrap();
    upload(&mut rep, w.customer, &[("late.txt", "text/plain", b"late".to_vec())]).await.assert_status(403);
    rep.get(&format!("{}/{owners}", base(w.customer))).await.assert_status(200);
    // Not even the uploader removes a file from a frozen customer, and the tab offers no button.
    rep.post(&format!("{}/{owners}/delete", base(w.customer)), &[]).await.assert_status(403);
    let tab = rep.get(&format!("/customers/{}?tab=attachments", w.customer)).await;
    assert!(tab.text_of("#tab-attachments").contains("报价单.xlsx"));
    assert!(!tab.has(&format!("form[action=\"{}/{owners}/delete\"]", base(w.customer))));

    let left: Vec<String> =
        sqlx::query_scalar("SELECT name FROM attachments ORDER BY id").fetch_all(&w.app.db).await.unwrap();
    assert_eq!(left, ["报价单.xlsx"]);
    assert_eq!(audit_notes(&w.app, w.customer, "attach").await, ["报价单.xlsx", "纪要.docx", "again.txt"]);
    assert_eq!(audit_notes(&w.app, w.customer, "detach").await, ["纪要.docx", "again.txt"]);
    let actors: Vec<String> = sqlx::query_scalar(
        "SELECT u.login FROM operation_logs l JOIN users u ON u.id = l.actor_id
         WHERE l.action = 'detach' ORDER BY l.id",
    )
    .fetch_all(&w.app.db)
    .await
    .unwrap();
    assert_eq!(actors, ["other", "rep"]);
}

/// A multipart POST built by hand in `rep`'s session: (status, Location).
async fn raw_multipart(w: &World, rep: &Client, path: &str, body: &str) -> (u16, String) {
    let req = Request::post(path)
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "http://localhost")
        .header(header::COOKIE, format!("{}={}", crm::app::SESSION_COOKIE, rep.session_id().unwrap()))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = w.app.router.clone().oneshot(req).await.unwrap();
    let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (resp.status().as_u16(), location)
}

#[tokio::test]
async fn multipart_posts_need_the_csrf_token_in_the_query_and_a_whole_body() {
    let w = world().await;
    let mut rep = w.app.login("rep").await;
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
                Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
    assert_eq!(raw_multipart(&w, &rep, &base(w.customer), body).await.0, 403, "no token");
    // A wrong token in the query is refused too.
    let wrong = rep
        .post_multipart(
            &format!("{}?_csrf=0000", base(w.customer)),
            &[],
            &[("file", "a.txt", "text/plain", b"a".to_vec())],
        )
        .await;
    wrong.assert_status(403);
    assert_eq!(w.app.count("SELECT count(*) FROM attachments").await, 0);

    // With the token, the same body is stored; one cut short is not.
    let with_token = format!("{}?_csrf={}", base(w.customer), rep.csrf_token().unwrap());
    let back = format!("/customers/{}?tab=attachments", w.customer);
    assert_eq!(raw_multipart(&w, &rep, &with_token, body).await, (303, back.clone()));
    assert_eq!(w.app.count("SELECT count(*) FROM attachments").await, 1);
    rep.get(&back).await;
    let cut = &body[..body.len() - 12];
    assert_eq!(raw_multipart(&w, &rep, &with_token, cut).await, (303, back.clone()));
    assert!(rep.get(&back).await.text_of(".flash").contains("上传未完成"));
    assert_eq!(w.app.count("SELECT count(*) FROM attachments").await, 1);
    // A plain form post is no upload.
    rep.post(&base(w.customer), &[("file", "a.txt")]).await.assert_status(400);
}

#[tokio::test]
async fn the_tab_shows_the_files_the_upload_form_and_delete_buttons_to_those_allowed() {
    let w = world().await;
    let mut rep = w.app.login("rep").await;
    upload(&mut rep, w.customer, &[("合同扫描件.pdf", "application/pdf", PDF.as_bytes().to_vec())]).await;
    let aid = attachment_id(&w.app, "合同扫描件.pdf").await;
    let st = AppState::new(w.app.db.clone(), w.app.config.clone());

    let render = async |user: crm::auth::CurrentUser, p: Panel| {
        let req = RequestCtx { user: Some(Arc::new(user)), lang: Lang::Zh, ..Default::default() };
        let session = tower_sessions::Session::new(None, Arc::new(tower_sessions::MemoryStore::default()), None);
        let mut ctx = PageCtx::build(&st, &req, &session, &format!("/customers/{}", w.customer).parse().unwrap()).await;
        ctx.csrf = "tok123".into();
        askama::Template::render(&TabView { ctx, p }).unwrap()
    };

    // The owner: upload form, the file as a download link, a delete button.
    let owner = current_user(&w.app, w.rep).await;
    let p = Panel::load(&st, &CUSTOMER, &owner, w.customer).await.unwrap();
    assert!(p.can_edit && p.limit_mb == 20 && p.base == format!("/customers/{}", w.customer));
    let html = scraper::Html::parse_fragment(&render(owner, p).await);
    let sel = |css: &str| scraper::Selector::parse(css).unwrap();
    let form = html.select(&sel("form#attachment-upload")).next().expect("upload form");
    assert_eq!(
        form.value().attr("action"),
        Some(format!("/customers/{}/attachments?_csrf=tok123", w.customer).as_str())
    );
    assert_eq!(form.value().attr("enctype"), Some("multipart/form-data"));
    assert_eq!(html.select(&sel("input[type=file][name=file][multiple]")).count(), 1);
    let text: String = html.root_element().text().collect();
    assert!(text.contains("单个文件不超过 20 MB"), "{text}");
    let link = html.select(&sel("#attachments td.attachment-name a")).next().unwrap();
    assert_eq!(link.value().attr("href"), Some(format!("/customers/{}/attachments/{aid}", w.customer).as_str()));
    assert_eq!(link.text().collect::<String>(), "合同扫描件.pdf");
    assert!(text.contains("用户rep") && text.contains(&format!("{} B", PDF.len())));
    assert_eq!(html.select(&sel(&format!("form[action$='/attachments/{aid}/delete'] button"))).count(), 1);

    // A reader: the list only.
    let reader = current_user(&w.app, w.other_rep).await;
    let p = Panel::load(&st, &CUSTOMER, &reader, w.customer).await.unwrap();
    assert!(!p.can_edit);
    let html = scraper::Html::parse_fragment(&render(reader, p).await);
    assert_eq!(html.select(&sel("form#attachment-upload")).count(), 0);
    assert_eq!(html.select(&sel("#attachments tbody tr")).count(), 1);
    assert_eq!(html.select(&sel("form[action$='/delete']")).count(), 0);
}

/// A file name with bidirectional controls (`invoice\u{202E}fdp.exe` reads as `invoiceexe.pdf`)
/// is stored, listed and downloaded without them — `filename*` included, also for a name stored
/// before names were cleaned.
#[tokio::test]
async fn bidi_controls_leave_file_names() {
    let w = world().await;
    let mut rep = w.app.login("rep").await;
    upload(&mut rep, w.customer, &[("invoice\u{202E}fdp.exe", "application/octet-stream", b"MZ".to_vec())]).await;
    let id = attachment_id(&w.app, "invoicefdp.exe").await;
    let tab = rep.get(&format!("/customers/{}?tab=attachments", w.customer)).await;
    assert!(tab.body.contains("invoicefdp.exe") && !tab.body.contains('\u{202E}'));
    let r = rep.get(&format!("{}/{id}", base(w.customer))).await;
    assert_forced_download(&r, "invoicefdp.exe", "invoicefdp.exe");
    // Stored before the upload cleaned names: the header still leaves the control out.
    sqlx::query("UPDATE attachments SET name = 'report\u{2067}txt.exe\u{2069}' WHERE id = $1")
        .bind(id)
        .execute(&w.app.db)
        .await
        .unwrap();
    let r = rep.get(&format!("{}/{id}", base(w.customer))).await;
    assert_forced_download(&r, "reporttxt.exe", "reporttxt.exe");
}
