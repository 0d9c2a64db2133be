//! The sending quota page: limits per role and per user, and what each user and department sent
//! per day (the last 7 days of CRM_TIMEZONE).

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};

use crate::audit::Entry;
use crate::error::AppResult;
use crate::mail::quota;
use crate::state::AppState;
use crate::web::{FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

struct RoleLine {
    id: i64,
    name: String,
    /// As stored, or as typed after an error.
    value: String,
}

struct UserLimit {
    user_id: i64,
    name: String,
    daily_limit: i32,
}

#[derive(sqlx::FromRow)]
struct UsageRow {
    day: NaiveDate,
    who: String,
    n: i64,
}

#[derive(Template)]
#[template(path = "admin/mail/quota.html")]
struct QuotaPage {
    ctx: PageCtx,
    default_limit: i64,
    roles: Vec<RoleLine>,
    users: Vec<UserLimit>,
    user_options: Vec<SelectOpt>,
    user_pick: String,
    user_value: String,
    errors: FormErrors,
    by_user: Vec<UsageRow>,
    by_dept: Vec<UsageRow>,
}

crate::page!(QuotaPage);

async fn page(
    st: &AppState,
    ctx: PageCtx,
    typed: Option<&HashMap<String, String>>,
    errors: FormErrors,
) -> AppResult<QuotaPage> {
    let roles: Vec<(i64, String, Option<i32>)> = sqlx::query_as(
        "SELECT r.id, r.name, q.daily_limit FROM roles r LEFT JOIN mail_quotas q ON q.role_id = r.id ORDER BY r.id",
    )
    .fetch_all(&st.db)
    .await?;
    let roles = roles
        .into_iter()
        .map(|(id, name, limit)| RoleLine {
            value: typed
                .and_then(|t| t.get(&format!("role_{id}")).cloned())
                .unwrap_or_else(|| limit.map(|l| l.to_string()).unwrap_or_default()),
            id,
            name,
        })
        .collect();
    let users: Vec<(i64, String, i32)> = sqlx::query_as(
        "SELECT u.id, u.name, q.daily_limit FROM mail_quotas q JOIN users u ON u.id = q.user_id ORDER BY u.name",
    )
    .fetch_all(&st.db)
    .await?;
    let users =
        users.into_iter().map(|(user_id, name, daily_limit)| UserLimit { user_id, name, daily_limit }).collect();
    let tz = st.config.timezone;
    let since = quota::day_start(Utc::now(), tz) - chrono::Duration::days(6);
    let offset = tz.local_minus_utc();
    let usage = |group: &'static str| {
        format!(
            "SELECT (m.created_at + make_interval(secs => $2))::date AS day, {group} AS who, count(*) AS n
             FROM mail_outbox m JOIN users u ON u.id = m.created_by JOIN departments d ON d.id = u.dept_id
             WHERE m.kind <> 'notification' AND m.created_at >= $1
             GROUP BY 1, 2 ORDER BY 1 DESC, 3 DESC, 2"
        )
    };
    let by_user = sqlx::query_as(&usage("u.name")).bind(since).bind(f64::from(offset)).fetch_all(&st.db).await?;
    let by_dept = sqlx::query_as(&usage("d.name")).bind(since).bind(f64::from(offset)).fetch_all(&st.db).await?;
    Ok(QuotaPage {
        default_limit: quota::DEFAULT,
        roles,
        users,
        user_options: crate::org::users::options(&st.db, true).await?,
        user_pick: typed.and_then(|t| t.get("user").cloned()).unwrap_or_default(),
        user_value: typed.and_then(|t| t.get("limit").cloned()).unwrap_or_default(),
        errors,
        by_user,
        by_dept,
        ctx,
    })
}

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let errors = FormErrors::new(ctx.lang);
    Ok(render(page(&st, ctx, None, errors).await?).await?.into_response())
}

/// A limit as typed: empty → none; else a whole number 0..=1,000,000.
fn parse_limit(text: &str) -> Result<Option<i32>, ()> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<i32>().ok().filter(|n| (0..=1_000_000).contains(n)).map(Some).ok_or(())
}

/// Save every role's limit (`role_<id>`; empty: none).
pub async fn save_roles(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let mut wanted = Vec::new();
    for (k, v) in &form {
        let Some(id) = k.strip_prefix("role_").and_then(|i| i.parse::<i64>().ok()) else { continue };
        match parse_limit(v) {
            Ok(limit) => wanted.push((id, limit)),
            Err(()) => errors.add(k, "mail.err.limit"),
        }
    }
    if !errors.is_empty() {
        let page = page(&st, ctx, Some(&form), errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let mut tx = st.db.begin().await?;
    for (role, limit) in wanted {
        let old: Option<i32> = sqlx::query_scalar("SELECT daily_limit FROM mail_quotas WHERE role_id = $1")
            .bind(role)
            .fetch_optional(&mut *tx)
            .await?;
        if old == limit {
            continue;
        }
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM roles WHERE id = $1)")
            .bind(role)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            continue;
        }
        match limit {
            Some(l) => {
                sqlx::query(
                    "INSERT INTO mail_quotas (role_id, daily_limit) VALUES ($1, $2)
                     ON CONFLICT (role_id) DO UPDATE SET daily_limit = EXCLUDED.daily_limit",
                )
                .bind(role)
                .bind(l)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM mail_quotas WHERE role_id = $1").bind(role).execute(&mut *tx).await?;
            }
        }
        Entry::new("role", role, "update")
            .change("mail_daily_limit", crate::audit::opt(old), crate::audit::opt(limit))
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    done(tx, &ctx, "mail.quota_saved", "/admin/mail/quota").await
}

/// Set (or with an empty limit, remove) one user's own limit.
pub async fn save_user(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let actor = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let target = form.get("user").and_then(|u| u.trim().parse::<i64>().ok());
    let exists = match target {
        Some(id) => {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
                .bind(id)
                .fetch_one(&st.db)
                .await?
        }
        None => false,
    };
    if !exists {
        errors.add("user", "form.required");
    }
    let limit = parse_limit(form.get("limit").map_or("", String::as_str));
    if limit.is_err() {
        errors.add("limit", "mail.err.limit");
    }
    let (Some(target), Ok(limit), true) = (target, limit, errors.is_empty()) else {
        let page = page(&st, ctx, Some(&form), errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    };
    let mut tx = st.db.begin().await?;
    let old: Option<i32> = sqlx::query_scalar("SELECT daily_limit FROM mail_quotas WHERE user_id = $1 FOR UPDATE")
        .bind(target)
        .fetch_optional(&mut *tx)
        .await?;
    match limit {
        Some(l) => {
            sqlx::query(
                "INSERT INTO mail_quotas (user_id, daily_limit) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET daily_limit = EXCLUDED.daily_limit",
            )
            .bind(target)
            .bind(l)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM mail_quotas WHERE user_id = $1").bind(target).execute(&mut *tx).await?;
        }
    }
    let entry = Entry::new("user", target, "update").change(
        "mail_daily_limit",
        crate::audit::opt(old),
        crate::audit::opt(limit),
    );
    if entry.has_changes() {
        entry.write(&mut tx, Some(actor.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "mail.quota_saved", "/admin/mail/quota").await
}
