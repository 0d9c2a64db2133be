//! Login, logout, change own password, choose language.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::throttle::{self, Admission, Key, Lock, LoginKeys, LoginOutcome};
use super::{CurrentUser, SESSION_EPOCH, SESSION_USER};
use super::{password, two_factor_pages};
use crate::access::{Guard, Routes};
use crate::audit;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::context::SESSION_LANG;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormErrors, PageCtx, RequestCtx, csrf, format, render};

pub fn routes() -> Routes {
    Routes::new()
        .get("/login", Guard::Public, login_page)
        .post("/login", Guard::Public, login_submit)
        .post("/logout", Guard::Public, logout)
        .post("/lang", Guard::Public, set_lang)
        .get("/account/password", Guard::Login, password_page)
        .post("/account/password", Guard::Login, password_submit)
        .merge(two_factor_pages::routes())
        .merge(super::mail_prefs::routes())
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageCtx,
    login: String,
    next: String,
    error: Option<String>,
}

crate::page!(LoginPage);

impl LoginPage {
    /// The language switch returns here, keeping where the login was going to lead.
    fn back(&self) -> String {
        if self.next.is_empty() {
            return "/login".into();
        }
        let next: String = form_urlencoded::byte_serialize(self.next.as_bytes()).collect();
        format!("/login?next={next}")
    }
}

#[derive(Deserialize, Default)]
pub struct NextParam {
    #[serde(default)]
    next: String,
}

async fn login_page(ctx: PageCtx, Query(q): Query<NextParam>) -> AppResult<Response> {
    if ctx.user.is_some() {
        return Ok(Redirect::to(safe_next(&q.next)).into_response());
    }
    Ok(render(LoginPage { ctx, login: String::new(), next: q.next, error: None }).await?.into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(sqlx::FromRow)]
struct Credentials {
    id: i64,
    password_hash: String,
    status: String,
    session_epoch: i32,
    two_factor: bool,
}

/// The user a typed login names: the username first, else the mobile number.
async fn find_credentials(db: &sqlx::PgPool, login: &str) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as(
        "SELECT id, password_hash, status, session_epoch, totp_enabled_at IS NOT NULL AS two_factor FROM users
         WHERE lower(login) = lower($1) OR mobile = $1 ORDER BY (lower(login) = lower($1)) DESC LIMIT 1",
    )
    .bind(login)
    .fetch_optional(db)
    .await
}

/// Every attempt is counted (per IP, per typed login, per resolved user) before the password is
/// checked, so parallel guesses cannot get past the limit; see `throttle`. A user with two-factor
/// sign-in gets the code step (`two_factor_pages`) instead of a session.
async fn login_submit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    session: Session,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let login = f.login.trim().to_string();
    let creds = find_credentials(&st.db, &login).await?;
    let user_id = creds.as_ref().map(|c| c.id);
    let keys = LoginKeys::new(&st.config, req.ip.as_deref(), &login, user_id);
    let log = |outcome| throttle::log_attempt(&st.db, &login, user_id, req.ip.as_deref(), &req.user_agent, outcome);

    let lock_on_failure = match throttle::admit(&st.db, &st.config, &keys.all()).await? {
        Admission::Refused(lock) => {
            log(lock.kind).await?;
            return locked_page(&st, ctx, login.clone(), f.next, lock).await;
        }
        Admission::Verify(lock) => lock,
    };
    let ok = password::verify(f.password, creds.as_ref().map(|c| c.password_hash.clone())).await?;
    let outcome = match (&creds, ok) {
        (Some(c), true) if c.status == "active" && c.two_factor => LoginOutcome::CodeRequired,
        (Some(c), true) if c.status == "active" => LoginOutcome::Ok,
        (Some(_), true) => LoginOutcome::Disabled,
        _ => LoginOutcome::BadCredentials,
    };
    log(outcome).await?;
    if outcome == LoginOutcome::CodeRequired {
        // Not signed in yet: the account's counters stay until the code is right (were a right
        // password to clear them, guessing codes would never lock); the address gets its try back.
        throttle::succeeded(&st.db, &[], std::slice::from_ref(&keys.ip)).await?;
    } else if outcome != LoginOutcome::BadCredentials {
        keys.succeeded(&st.db).await?;
    }

    match (outcome, creds, lock_on_failure) {
        // The right password on the last try leaves no try for the code: say so now.
        (LoginOutcome::CodeRequired, _, Some(lock)) => locked_page(&st, ctx, login, f.next, lock).await,
        (LoginOutcome::CodeRequired, Some(c), None) => {
            two_factor_pages::begin(&session, c.id, c.session_epoch, &login, &f.next).await?;
            Ok(Redirect::to(two_factor_pages::CODE_PATH).into_response())
        }
        (LoginOutcome::Ok, Some(c), _) => {
            sqlx::query("UPDATE users SET last_login_at = now() WHERE id = $1").bind(c.id).execute(&st.db).await?;
            start_session(&session, c.id, c.session_epoch).await?;
            Ok(Redirect::to(safe_next(&f.next)).into_response())
        }
        (LoginOutcome::Disabled, _, _) => {
            let error = ctx.t("login.disabled").to_string();
            login_failed(ctx, login, f.next, error, StatusCode::FORBIDDEN).await
        }
        // This failure used up the last try: say so now, not on the next attempt.
        (_, _, Some(lock)) => locked_page(&st, ctx, login, f.next, lock).await,
        _ => {
            let error = ctx.t("login.bad_credentials").to_string();
            login_failed(ctx, login, f.next, error, StatusCode::UNAUTHORIZED).await
        }
    }
}

pub(super) async fn locked_page(
    st: &AppState,
    ctx: PageCtx,
    login: String,
    next: String,
    lock: Lock,
) -> AppResult<Response> {
    let key = if lock.kind == LoginOutcome::IpThrottled { "login.ip_locked" } else { "login.locked" };
    let error = lock_text(st, &ctx, key, lock);
    login_failed(ctx, login, next, error, StatusCode::TOO_MANY_REQUESTS).await
}

/// The lock message `key` with the time the lock ends, rounded up to the minute (a lock ending at
/// 10:15:20 says 10:16: trying at 10:15 would still fail).
pub(super) fn lock_text(st: &AppState, ctx: &PageCtx, key: &str, lock: Lock) -> String {
    let time = format::time_of_day(&format::ceil_minute(&lock.until), st.config.timezone);
    ctx.tf(key, &[("time", &time)])
}

/// A fresh session id for the logged-in user (no fixation), with a fresh CSRF token.
pub(super) async fn start_session(session: &Session, user_id: i64, epoch: i32) -> anyhow::Result<()> {
    let lang: Option<String> = session.get(SESSION_LANG).await?;
    session.cycle_id().await?;
    session.clear().await;
    if let Some(lang) = lang {
        session.insert(SESSION_LANG, lang).await?;
    }
    session.insert(SESSION_USER, user_id).await?;
    session.insert(SESSION_EPOCH, epoch).await?;
    csrf::renew(session).await?;
    Ok(())
}

async fn login_failed(
    ctx: PageCtx,
    login: String,
    next: String,
    error: String,
    status: StatusCode,
) -> AppResult<Response> {
    Ok((status, render(LoginPage { ctx, login, next, error: Some(error) }).await?).into_response())
}

/// Only relative, same-site paths are followed after login; anything else goes home.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains("://")
        && !next.chars().any(|c| c.is_control());
    if ok { next } else { "/" }
}

async fn logout(session: Session) -> AppResult<Redirect> {
    session.flush().await.map_err(anyhow::Error::from)?;
    Ok(Redirect::to("/login"))
}

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
    #[serde(default)]
    back: String,
}

/// Stored on the user (when logged in) and in the session (before login).
async fn set_lang(
    State(st): State<AppState>,
    req: RequestCtx,
    session: Session,
    Form(f): Form<LangForm>,
) -> AppResult<Redirect> {
    let lang = Lang::from_code(&f.lang).unwrap_or_default();
    session.insert(SESSION_LANG, lang.code()).await.map_err(anyhow::Error::from)?;
    if let Some(user) = &req.user {
        sqlx::query("UPDATE users SET lang = $1 WHERE id = $2").bind(lang.code()).bind(user.id).execute(&st.db).await?;
    }
    Ok(Redirect::to(safe_next(&f.back)))
}

#[derive(Template)]
#[template(path = "auth/password.html")]
struct PasswordPage {
    ctx: PageCtx,
    errors: FormErrors,
}

crate::page!(PasswordPage);

async fn password_page(ctx: PageCtx) -> AppResult<Html<String>> {
    let errors = FormErrors::new(ctx.lang);
    render(PasswordPage { ctx, errors }).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

/// Change own password: the current one is required (and its guesses throttled like logins), the
/// new one must differ from it and from the user's login and mobile; every other session ends.
async fn password_submit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    session: Session,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    let user: &CurrentUser = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let (stored, mobile): (String, Option<String>) =
        sqlx::query_as("SELECT password_hash, mobile FROM users WHERE id = $1").bind(user.id).fetch_one(&st.db).await?;
    let (current_ok, locked) = match check_current(&st, &ctx, user.id, &f.current, stored).await? {
        Ok(()) => (true, false),
        Err((text, locked)) => {
            errors.add_text("current", text);
            (false, locked)
        }
    };
    if let Err(key) = password::check_strength(&f.new_password, &[&user.login, mobile.as_deref().unwrap_or("")]) {
        errors.add("new_password", key);
    } else if current_ok && f.new_password == f.current {
        errors.add("new_password", "password.same_as_current");
    }
    if f.new_password != f.confirm {
        errors.add("confirm", "password.mismatch");
    }
    if !errors.is_empty() {
        let page = render(PasswordPage { ctx, errors }).await?;
        let status = if locked { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNPROCESSABLE_ENTITY };
        return Ok((status, page).into_response());
    }
    let hash = password::hash(f.new_password).await?;
    let mut tx = st.db.begin().await?;
    let epoch: i32 = sqlx::query_scalar(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 WHERE id = $2
         RETURNING session_epoch",
    )
    .bind(&hash)
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    audit::Entry::new("user", user.id, "password_change").write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    tx.commit().await?;
    // This session stays valid; all others now carry an old epoch and end on their next request.
    session.insert(SESSION_EPOCH, epoch).await.map_err(anyhow::Error::from)?;
    ctx.flash(Kind::Success, "password.changed").await;
    Ok(Redirect::to("/").into_response())
}

/// Verify the typed current password, counted like a login attempt on its own key, so a left-open
/// session cannot be used to guess it. The error text, and whether a lock is the reason.
pub(super) async fn check_current(
    st: &AppState,
    ctx: &PageCtx,
    user_id: i64,
    typed: &str,
    stored: String,
) -> AppResult<Result<(), (String, bool)>> {
    let key = Key::password_change(user_id, &st.config);
    let lock = match throttle::admit(&st.db, &st.config, std::slice::from_ref(&key)).await? {
        Admission::Refused(lock) => return Ok(Err((lock_text(st, ctx, "password.current_locked", lock), true))),
        Admission::Verify(lock) => lock,
    };
    if password::verify(typed.to_string(), Some(stored)).await? {
        throttle::succeeded(&st.db, &[key], &[]).await?;
        return Ok(Ok(()));
    }
    Ok(Err(match lock {
        Some(lock) => (lock_text(st, ctx, "password.current_locked", lock), true),
        None => (ctx.t("password.current_wrong").to_string(), false),
    }))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_relative() {
        assert_eq!(safe_next("/customers?page=2"), "/customers?page=2");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/x?u=http://a"), "/");
        assert_eq!(safe_next("javascript:alert(1)"), "/");
        assert_eq!(safe_next(""), "/");
    }
}
