//! Two-factor pages: the sign-in code step (after a right password) and the user's own page to
//! turn it on (QR code, secret, a code to confirm, recovery codes shown once), get new recovery
//! codes and turn it off.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::CurrentUser;
use super::handlers::{check_current, lock_text, locked_page, safe_next, start_session};
use super::throttle::{self, Admission, LoginKeys, LoginOutcome};
use super::two_factor::{self, Check, ENROL_PATH};
use crate::access::{Guard, Routes};
use crate::audit;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::context::SESSION_LANG;
use crate::web::flash::Kind;
use crate::web::{FormErrors, PageCtx, RequestCtx, csrf, done, render};

/// The sign-in code step.
pub const CODE_PATH: &str = "/login/two-factor";
/// Session key: a right password waiting for its code (no user is signed in meanwhile).
const SESSION_PENDING: &str = "tfa_pending";
/// How long the code step waits after the password.
const PENDING_SECS: i64 = 300;
/// Session key: the secret being enrolled (shown as QR code until confirmed).
const SESSION_SECRET: &str = "tfa_secret";
/// Session key: recovery codes just made, shown once on the next account page.
const SESSION_NEW_CODES: &str = "tfa_new_codes";

pub fn routes() -> Routes {
    Routes::new()
        .get(CODE_PATH, Guard::Public, code_page)
        .post(CODE_PATH, Guard::Public, code_submit)
        .get(ENROL_PATH, Guard::Enrol, account_page)
        .post("/account/two-factor/enable", Guard::Enrol, enable)
        .post("/account/two-factor/recovery-codes", Guard::Login, new_codes)
        .post("/account/two-factor/disable", Guard::Login, disable)
}

#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: i64,
    epoch: i32,
    /// The login as typed: its lockout counter is charged for wrong codes, as for passwords.
    login: String,
    next: String,
    at: i64,
}

/// After a right password: a fresh session id holding only what the code step needs.
/// Nothing else is kept but the language: a session that was signed in as someone else is not
/// any more.
pub async fn begin(session: &Session, user_id: i64, epoch: i32, login: &str, next: &str) -> anyhow::Result<()> {
    let lang: Option<String> = session.get(SESSION_LANG).await?;
    session.cycle_id().await?;
    session.clear().await;
    if let Some(lang) = lang {
        session.insert(SESSION_LANG, lang).await?;
    }
    let at = chrono::Utc::now().timestamp();
    session.insert(SESSION_PENDING, Pending { user_id, epoch, login: login.into(), next: next.into(), at }).await?;
    csrf::renew(session).await?;
    Ok(())
}

/// The waiting sign-in, unless it ran out.
async fn pending(session: &Session) -> Option<Pending> {
    let p: Pending = session.get(SESSION_PENDING).await.ok().flatten()?;
    (chrono::Utc::now().timestamp() - p.at <= PENDING_SECS).then_some(p)
}

#[derive(Template)]
#[template(path = "auth/two_factor_code.html")]
struct CodePage {
    ctx: PageCtx,
    error: Option<String>,
}

crate::page!(CodePage);

async fn code_page(ctx: PageCtx, session: Session) -> AppResult<Response> {
    if ctx.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    if pending(&session).await.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(render(CodePage { ctx, error: None }).await?.into_response())
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// The second step. Counted exactly like a password attempt (per IP, typed login and user, before
/// anything is checked), so wrong codes lock the account as wrong passwords do.
async fn code_submit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    session: Session,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let Some(p) = pending(&session).await else {
        let _ = session.remove::<Pending>(SESSION_PENDING).await;
        ctx.flash(Kind::Error, "two_factor.step_expired").await;
        return Ok(Redirect::to("/login").into_response());
    };
    let keys = LoginKeys::new(&st.config, req.ip.as_deref(), &p.login, Some(p.user_id));
    let log =
        |outcome| throttle::log_attempt(&st.db, &p.login, Some(p.user_id), req.ip.as_deref(), &req.user_agent, outcome);
    let lock_on_failure = match throttle::admit(&st.db, &st.config, &keys.all()).await? {
        Admission::Refused(lock) => {
            log(lock.kind).await?;
            session.remove::<Pending>(SESSION_PENDING).await.map_err(anyhow::Error::from)?;
            return locked_page(&st, ctx, p.login.clone(), p.next.clone(), lock).await;
        }
        Admission::Verify(lock) => lock,
    };
    // Still the same account as at the password: active, no password change, two-factor still on.
    let row: Option<(String, i32, Option<String>)> = sqlx::query_as(
        "SELECT status, session_epoch, totp_secret FROM users WHERE id = $1 AND totp_enabled_at IS NOT NULL",
    )
    .bind(p.user_id)
    .fetch_optional(&st.db)
    .await?;
    let secret = match row {
        Some((status, epoch, Some(secret))) if status == "active" && epoch == p.epoch => secret,
        _ => {
            session.remove::<Pending>(SESSION_PENDING).await.map_err(anyhow::Error::from)?;
            return Ok(Redirect::to("/login").into_response());
        }
    };
    let result = two_factor::check(&st.db, p.user_id, &secret, &f.code).await?;
    if matches!(result, Check::Code | Check::Recovery) {
        log(LoginOutcome::Ok).await?;
        keys.succeeded(&st.db).await?;
        let mut tx = st.db.begin().await?;
        sqlx::query("UPDATE users SET last_login_at = now() WHERE id = $1").bind(p.user_id).execute(&mut *tx).await?;
        if result == Check::Recovery {
            audit::Entry::new("user", p.user_id, "recovery_code_used")
                .write(&mut tx, Some(p.user_id), req.ip.as_deref())
                .await?;
        }
        tx.commit().await?;
        start_session(&session, p.user_id, p.epoch).await?;
        if result == Check::Recovery {
            let left = two_factor::state(&st.db, p.user_id).await?.codes_left;
            ctx.flash_text(Kind::Warning, ctx.tf1("two_factor.recovery_used", "count", &left.to_string())).await;
        }
        return Ok(Redirect::to(safe_next(&p.next)).into_response());
    }
    log(LoginOutcome::BadCode).await?;
    if let Some(lock) = lock_on_failure {
        session.remove::<Pending>(SESSION_PENDING).await.map_err(anyhow::Error::from)?;
        return locked_page(&st, ctx, p.login.clone(), p.next.clone(), lock).await;
    }
    let key = if result == Check::Replayed { "two_factor.replayed" } else { "two_factor.wrong_code" };
    let error = Some(ctx.t(key).to_string());
    Ok((StatusCode::UNAUTHORIZED, render(CodePage { ctx, error }).await?).into_response())
}

/// What the enrolment part of the page shows: the QR code and the secret to type by hand.
pub struct Enrolment {
    pub qr: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
struct AccountPage {
    ctx: PageCtx,
    state: two_factor::State,
    enrol: Option<Enrolment>,
    /// Recovery codes made by the last action, shown this once.
    new_codes: Vec<String>,
    errors: FormErrors,
}

crate::page!(AccountPage);

impl AccountPage {
    fn enabled_since(&self) -> String {
        self.state.enabled_at.as_ref().map(|t| self.ctx.datetime(t)).unwrap_or_default()
    }
}

async fn account_page(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Response> {
    let user = req.user()?;
    let new_codes: Vec<String> = ctx.session.remove(SESSION_NEW_CODES).await.ok().flatten().unwrap_or_default();
    let errors = FormErrors::new(ctx.lang);
    show(&st, ctx, user, new_codes, errors, StatusCode::OK).await
}

/// The account page, with an enrolment secret (kept in the session, so a reload shows the same
/// QR code) while two-factor sign-in is off.
async fn show(
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    new_codes: Vec<String>,
    errors: FormErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let state = two_factor::state(&st.db, user.id).await?;
    let enrol = if state.enabled() {
        None
    } else {
        let secret = match ctx.session.get::<String>(SESSION_SECRET).await.ok().flatten() {
            Some(s) => s,
            None => {
                let s = two_factor::new_secret();
                ctx.session.insert(SESSION_SECRET, &s).await.map_err(anyhow::Error::from)?;
                s
            }
        };
        let uri = two_factor::otpauth_uri(&secret, &issuer(st), &user.login);
        Some(Enrolment { qr: two_factor::qr_data_url(&uri)?, secret: two_factor::grouped(&secret) })
    };
    let page = render(AccountPage { ctx, state, enrol, new_codes, errors }).await?;
    Ok((status, page).into_response())
}

/// The name the authenticator app lists the account under.
fn issuer(st: &AppState) -> String {
    let company = st.config.company_name.trim();
    if company.is_empty() { "CRM".into() } else { format!("{company} CRM") }
}

/// Confirm the secret shown with a current code: only then is two-factor sign-in on.
async fn enable(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let Some(secret) = ctx.session.get::<String>(SESSION_SECRET).await.ok().flatten() else {
        return Ok(Redirect::to(ENROL_PATH).into_response());
    };
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let Some(step) = two_factor::matching_step(&secret, &f.code, now) else {
        let mut errors = FormErrors::new(ctx.lang);
        errors.add("code", "two_factor.wrong_code");
        return show(&st, ctx, user, Vec::new(), errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let (shown, hashes) = two_factor::new_recovery_codes().await?;
    let mut tx = st.db.begin().await?;
    if !two_factor::enable(&mut tx, user.id, &secret, step, &hashes).await? {
        // Already on (a second tab, a double click): nothing changes.
        return Ok(Redirect::to(ENROL_PATH).into_response());
    }
    audit::Entry::new("user", user.id, "two_factor_enable").write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    tx.commit().await?;
    let _ = ctx.session.remove::<String>(SESSION_SECRET).await;
    ctx.session.insert(SESSION_NEW_CODES, &shown).await.map_err(anyhow::Error::from)?;
    ctx.flash(Kind::Success, "two_factor.enabled").await;
    Ok(Redirect::to(ENROL_PATH).into_response())
}

#[derive(Deserialize)]
pub struct ProofForm {
    #[serde(default)]
    proof: String,
}

/// A current code or the password, for turning off and for new recovery codes: someone at a
/// session left open cannot do either. Guesses are counted like those of the change-password form.
async fn prove(st: &AppState, ctx: &PageCtx, user: &CurrentUser, typed: &str) -> AppResult<Result<(), (String, bool)>> {
    if two_factor::digits_of(typed).is_none() {
        let stored: String =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(user.id).fetch_one(&st.db).await?;
        return check_current(st, ctx, user.id, typed, stored).await;
    }
    let key = throttle::Key::password_change(user.id, &st.config);
    let lock = match throttle::admit(&st.db, &st.config, std::slice::from_ref(&key)).await? {
        Admission::Refused(lock) => {
            return Ok(Err((lock_text(st, ctx, "password.current_locked", lock), true)));
        }
        Admission::Verify(lock) => lock,
    };
    let secret: Option<String> =
        sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = $1").bind(user.id).fetch_one(&st.db).await?;
    let result = match secret {
        Some(secret) => two_factor::check_code(&st.db, user.id, &secret, typed).await?,
        None => Check::Wrong,
    };
    if result == Check::Code {
        throttle::succeeded(&st.db, &[key], &[]).await?;
        return Ok(Ok(()));
    }
    Ok(Err(match lock {
        Some(lock) => (lock_text(st, ctx, "password.current_locked", lock), true),
        None if result == Check::Replayed => (ctx.t("two_factor.replayed").to_string(), false),
        None => (ctx.t("two_factor.wrong_proof").to_string(), false),
    }))
}

/// The account page again with the refusal under `field`.
async fn refused(
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    field: &str,
    (text, locked): (String, bool),
) -> AppResult<Response> {
    let mut errors = FormErrors::new(ctx.lang);
    errors.add_text(field, text);
    let status = if locked { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNPROCESSABLE_ENTITY };
    show(st, ctx, user, Vec::new(), errors, status).await
}

/// New recovery codes (the old ones stop working), shown once.
async fn new_codes(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(f): Form<ProofForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    if !user.two_factor {
        return Ok(Redirect::to(ENROL_PATH).into_response());
    }
    if let Err(refusal) = prove(&st, &ctx, user, &f.proof).await? {
        return refused(&st, ctx, user, "codes_proof", refusal).await;
    }
    let (shown, hashes) = two_factor::new_recovery_codes().await?;
    let mut tx = st.db.begin().await?;
    two_factor::replace_codes(&mut tx, user.id, &hashes).await?;
    audit::Entry::new("user", user.id, "recovery_codes_renew").write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    ctx.session.insert(SESSION_NEW_CODES, &shown).await.map_err(anyhow::Error::from)?;
    done(tx, &ctx, "two_factor.codes_renewed", ENROL_PATH).await
}

/// Turn two-factor sign-in off. A user whose role requires it is sent straight back to enrolment
/// (e.g. to move to a new phone).
async fn disable(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(f): Form<ProofForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    if !user.two_factor {
        return Ok(Redirect::to(ENROL_PATH).into_response());
    }
    if let Err(refusal) = prove(&st, &ctx, user, &f.proof).await? {
        return refused(&st, ctx, user, "off_proof", refusal).await;
    }
    let mut tx = st.db.begin().await?;
    if two_factor::disable(&mut tx, user.id).await? {
        audit::Entry::new("user", user.id, "two_factor_disable")
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    done(tx, &ctx, "two_factor.disabled", ENROL_PATH).await
}
