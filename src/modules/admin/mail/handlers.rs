//! Mail settings pages: accounts, the test mail, the outbox.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::model::{self, AccountForm, OutboxFilter, TestForm};
use super::repo::{self, OutboxRow};
use crate::audit::Entry;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::mail::accounts::{self, Account, Row};
use crate::mail::smtp::{self, Outgoing};
use crate::mail::{outbox, quota};
use crate::state::AppState;
use crate::web::{FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

/// One account line of the settings page.
struct AccountLine {
    row: Row,
    security_label: &'static str,
    has_password: bool,
}

#[derive(Template)]
#[template(path = "admin/mail/index.html")]
struct IndexPage {
    ctx: PageCtx,
    accounts: Vec<AccountLine>,
    /// The environment's account, shown while none is saved.
    bootstrap: Option<String>,
    has_key: bool,
    test: TestForm,
    test_errors: FormErrors,
    account_options: Vec<SelectOpt>,
    /// After "send test mail": (accepted?, the server's answer).
    result: Option<(bool, String)>,
}

crate::page!(IndexPage);

async fn index_page(
    st: &AppState,
    ctx: PageCtx,
    test: TestForm,
    test_errors: FormErrors,
    result: Option<(bool, String)>,
) -> AppResult<IndexPage> {
    let rows = accounts::saved(&st.db).await?;
    let account_options = rows.iter().map(|r| SelectOpt::new(r.id, format!("{}:{}", r.host, r.port))).collect();
    let bootstrap = if rows.is_empty() { accounts::bootstrap(&st.config).map(|a| a.label()) } else { None };
    let accounts = rows
        .into_iter()
        .map(|row| AccountLine {
            security_label: ctx.t(accounts::Security::from_code(&row.security).map_or("", |s| s.label_key())),
            has_password: row.password_enc.is_some(),
            row,
        })
        .collect();
    Ok(IndexPage {
        accounts,
        bootstrap,
        has_key: st.config.secret_key.is_some(),
        test,
        test_errors,
        account_options,
        result,
        ctx,
    })
}

pub async fn index(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Response> {
    let user = req.user()?;
    let to: Option<String> =
        sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(user.id).fetch_one(&st.db).await?;
    let test = TestForm { to: to.unwrap_or_default(), account: String::new() };
    let errors = FormErrors::new(ctx.lang);
    Ok(render(index_page(&st, ctx, test, errors, None).await?).await?.into_response())
}

/// Send a test mail now, with the chosen account alone (no failover), and show the server's answer.
/// It is the admin's own mail: it counts against their daily quota and is logged in the outbox
/// (written as 'sending' before the server is talked to, so no runner takes it, then settled).
pub async fn test(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<TestForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    if form.to.trim().is_empty() {
        errors.add("to", "form.required");
    } else if !model::address_ok(form.to.trim()) {
        errors.add("to", "mail.err.address");
    }
    let account: Option<Account> = match form.account.trim().parse::<i64>() {
        Ok(id) => repo::find(&st.db, id).await?.map(|r| r.account(&st.config)),
        Err(_) => accounts::active(&st.db, &st.config).await?.into_iter().next(),
    };
    if account.is_none() {
        errors.add("account", "mail.err.no_account");
    }
    let account = match account {
        Some(a) if errors.is_empty() => a,
        _ => {
            let page = index_page(&st, ctx, form, errors, None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
        }
    };
    let mail = Outgoing {
        to_address: form.to.trim().to_string(),
        to_name: String::new(),
        subject: ctx.t("mail.test_subject").to_string(),
        body_text: ctx.tf1("mail.test_body", "account", &account.label()),
        link: None,
    };
    let now = chrono::Utc::now();
    let mut tx = st.db.begin().await?;
    if let Err(remaining) = quota::reserve(&mut tx, user.id, 1, now, st.config.timezone).await? {
        drop(tx);
        errors.add_text("to", ctx.tf1("mail.err.quota", "remaining", &remaining.to_string()));
        let page = index_page(&st, ctx, form, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let id = outbox::log_direct(&mut tx, "test", user.id, &mail, now).await?;
    tx.commit().await?;
    // No database connection is held while the server is talked to.
    let outcome = smtp::send_with(&account, &mail, &st.config).await;
    outbox::settle_direct(&st.db, id, &outcome, &account.label()).await?;
    let result = match outcome {
        Ok(reply) => (true, reply),
        Err(f) => (false, f.text().to_string()),
    };
    let page = index_page(&st, ctx, form, errors, Some(result)).await?;
    Ok(render(page).await?.into_response())
}

#[derive(Template)]
#[template(path = "admin/mail/account.html")]
struct AccountPage {
    ctx: PageCtx,
    /// `None`: a new account.
    id: Option<i64>,
    form: AccountForm,
    errors: FormErrors,
    security_options: Vec<SelectOpt>,
    has_key: bool,
    has_password: bool,
}

crate::page!(AccountPage);

fn account_page(
    st: &AppState,
    ctx: PageCtx,
    id: Option<i64>,
    form: AccountForm,
    errors: FormErrors,
    has_password: bool,
) -> AccountPage {
    AccountPage {
        security_options: model::security_options(ctx.lang),
        has_key: st.config.secret_key.is_some(),
        ctx,
        id,
        form,
        errors,
        has_password,
    }
}

pub async fn new(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let errors = FormErrors::new(ctx.lang);
    Ok(render(account_page(&st, ctx, None, AccountForm::blank(), errors, false)).await?.into_response())
}

pub async fn edit(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let row = repo::find(&st.db, id).await?.ok_or(AppError::NotFound)?;
    let errors = FormErrors::new(ctx.lang);
    let page = account_page(&st, ctx, Some(id), AccountForm::from_row(&row), errors, row.password_enc.is_some());
    Ok(render(page).await?.into_response())
}

fn invalid(page: AccountPage) -> impl std::future::Future<Output = AppResult<Response>> {
    async move { Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response()) }
}

pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<AccountForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let Some(v) = form.validate(st.config.secret_key.is_some(), &mut errors) else {
        let mut form = form;
        form.password.clear();
        return invalid(account_page(&st, ctx, None, form, errors, false)).await;
    };
    let sealed =
        v.password.as_deref().zip(st.config.secret_key.as_deref()).map(|(p, k)| crate::mail::crypto::seal(k, p));
    let mut tx = st.db.begin().await?;
    repo::lock(&mut tx).await?;
    let id = repo::insert(&mut tx, &v, sealed.as_deref(), user.id).await?;
    Entry::new("mail_account", id, "create")
        .change("host", "", v.host.clone())
        .change("port", "", v.port)
        .change("security", "", v.security.code())
        .change("username", "", v.username.clone())
        .change("password", "", if sealed.is_some() { "******" } else { "" })
        .change("from_address", "", v.from_address.clone())
        .change("from_name", "", v.from_name.clone())
        .change("reply_to", "", v.reply_to.clone())
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "mail.saved", "/admin/mail").await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(form): Form<AccountForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let Some(v) = form.validate(st.config.secret_key.is_some(), &mut errors) else {
        let has_password = repo::find(&st.db, id).await?.ok_or(AppError::NotFound)?.password_enc.is_some();
        let mut form = form;
        form.password.clear();
        return invalid(account_page(&st, ctx, Some(id), form, errors, has_password)).await;
    };
    let mut tx = st.db.begin().await?;
    repo::lock(&mut tx).await?;
    let old = repo::find_for_update(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let sealed = match (&v.password, st.config.secret_key.as_deref()) {
        (Some(p), Some(k)) => Some(crate::mail::crypto::seal(k, p)),
        _ if v.clear_password => None,
        _ => old.password_enc.clone(),
    };
    let password_change = match (&old.password_enc, &sealed) {
        (a, b) if a == b => None,
        (_, Some(_)) => Some(("", "******")),
        (_, None) => Some(("******", "")),
    };
    let mut entry = Entry::new("mail_account", id, "update")
        .change("host", old.host.clone(), v.host.clone())
        .change("port", old.port, v.port)
        .change("security", old.security.clone(), v.security.code())
        .change("username", old.username.clone(), v.username.clone())
        .change("from_address", old.from_address.clone(), v.from_address.clone())
        .change("from_name", old.from_name.clone(), v.from_name.clone())
        .change("reply_to", old.reply_to.clone(), v.reply_to.clone());
    if let Some((a, b)) = password_change {
        entry = entry.change("password", a, b);
    }
    if entry.has_changes() {
        repo::update(&mut tx, id, &v, sealed.as_deref(), user.id).await?;
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "mail.saved", "/admin/mail").await
}

pub async fn delete(ctx: PageCtx, req: RequestCtx, mut tx: Tx, Path(id): Path<i64>) -> AppResult<Response> {
    let user = req.user()?;
    repo::lock(&mut tx).await?;
    let old = repo::find_for_update(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    repo::delete(&mut tx, id, old.position).await?;
    Entry::new("mail_account", id, "delete")
        .change("host", old.host.clone(), "")
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "mail.deleted", "/admin/mail").await
}

pub async fn up(ctx: PageCtx, req: RequestCtx, mut tx: Tx, Path(id): Path<i64>) -> AppResult<Response> {
    let user = req.user()?;
    repo::lock(&mut tx).await?;
    let old = repo::find_for_update(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if repo::move_up(&mut tx, id, old.position).await? {
        Entry::new("mail_account", id, "update")
            .change("position", old.position, old.position - 1)
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    done(tx, &ctx, "mail.saved", "/admin/mail").await
}

struct OutboxLine {
    row: OutboxRow,
    status_label: &'static str,
    can_retry: bool,
    can_cancel: bool,
}

#[derive(Template)]
#[template(path = "admin/mail/outbox.html")]
struct OutboxPage {
    ctx: PageCtx,
    lines: Vec<OutboxLine>,
    filter: OutboxFilter,
    status_options: Vec<SelectOpt>,
    counts: Vec<(String, i64)>,
}

crate::page!(OutboxPage);

fn status_label(status: &str) -> &'static str {
    match status {
        "queued" => "mail.status.queued",
        "sending" => "mail.status.sending",
        "sent" => "mail.status.sent",
        "failed" => "mail.status.failed",
        _ => "mail.status.cancelled",
    }
}

pub async fn outbox(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(filter): Query<OutboxFilter>,
) -> AppResult<Response> {
    let status = model::STATUSES.iter().copied().find(|s| *s == filter.status.trim());
    let lines = repo::outbox(&st.db, status, 200)
        .await?
        .into_iter()
        .map(|row| OutboxLine {
            status_label: ctx.t(status_label(&row.status)),
            can_retry: matches!(row.status.as_str(), "failed" | "cancelled"),
            can_cancel: matches!(row.status.as_str(), "queued" | "failed"),
            row,
        })
        .collect();
    let status_options = model::STATUSES.iter().map(|s| SelectOpt::new(s, ctx.t(status_label(s)))).collect();
    let counts =
        repo::counts(&st.db).await?.into_iter().map(|(s, n)| (ctx.t(status_label(&s)).to_string(), n)).collect();
    Ok(render(OutboxPage { ctx, lines, filter, status_options, counts }).await?.into_response())
}

pub async fn retry(ctx: PageCtx, req: RequestCtx, mut tx: Tx, Path(id): Path<i64>) -> AppResult<Response> {
    let user = req.user()?;
    if !crate::mail::outbox::retry(&mut tx, id).await? {
        return Err(AppError::Conflict("mail.err.not_retryable"));
    }
    Entry::new("mail_outbox", id, "mail_retry").write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, "mail.retried", "/admin/mail/outbox").await
}

pub async fn cancel(ctx: PageCtx, req: RequestCtx, mut tx: Tx, Path(id): Path<i64>) -> AppResult<Response> {
    let user = req.user()?;
    if !crate::mail::outbox::cancel(&mut tx, id).await? {
        return Err(AppError::Conflict("mail.err.not_cancellable"));
    }
    Entry::new("mail_outbox", id, "mail_cancel").write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, "mail.cancelled", "/admin/mail/outbox").await
}
