//! The logged-in user, loaded fresh on every request (so a disabled account, a new password or
//! changed roles take effect at once).

use std::collections::HashSet;

use sqlx::PgPool;
use tower_sessions::Session;

use crate::access::{Action, Module};
use crate::web::i18n::Lang;

pub const SESSION_USER: &str = "uid";
/// Copy of `users.session_epoch` at login; bumping the column ends every older session.
pub const SESSION_EPOCH: &str = "epoch";

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub dept_id: i64,
    pub superior_id: Option<i64>,
    pub lang: Option<Lang>,
    pub is_super: bool,
    pub session_epoch: i32,
    /// Two-factor sign-in is on for this user.
    pub two_factor: bool,
    /// A role of theirs requires two-factor sign-in and it is not on yet: they may open the
    /// enrolment page and nothing else (`access::routes`).
    pub must_enrol: bool,
    perms: HashSet<(Module, Action)>,
}

impl CurrentUser {
    pub fn can(&self, module: Module, action: Action) -> bool {
        self.is_super || self.perms.contains(&(module, action))
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    login: String,
    name: String,
    dept_id: i64,
    superior_id: Option<i64>,
    lang: Option<String>,
    status: String,
    session_epoch: i32,
    is_super: bool,
    two_factor: bool,
    two_factor_required: bool,
    perms: Vec<String>,
}

pub async fn fetch_user(db: &PgPool, id: i64) -> sqlx::Result<Option<(CurrentUser, bool)>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT u.id, u.login, u.name, u.dept_id, u.superior_id, u.lang, u.status, u.session_epoch,
           EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                   WHERE ur.user_id = u.id AND r.is_super) AS is_super,
           u.totp_enabled_at IS NOT NULL AS two_factor,
           EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                   WHERE ur.user_id = u.id AND r.totp_required) AS two_factor_required,
           ARRAY(SELECT DISTINCT rp.module || ':' || rp.action FROM user_roles ur
                 JOIN role_permissions rp ON rp.role_id = ur.role_id
                 WHERE ur.user_id = u.id) AS perms
         FROM users u WHERE u.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let perms = r
            .perms
            .iter()
            .filter_map(|p| {
                let (m, a) = p.split_once(':')?;
                Some((Module::from_code(m)?, Action::from_code(a)?))
            })
            .collect();
        let user = CurrentUser {
            id: r.id,
            login: r.login,
            name: r.name,
            dept_id: r.dept_id,
            superior_id: r.superior_id,
            lang: r.lang.as_deref().and_then(Lang::from_code),
            is_super: r.is_super,
            session_epoch: r.session_epoch,
            two_factor: r.two_factor,
            must_enrol: r.two_factor_required && !r.two_factor,
            perms,
        };
        (user, r.status == "active")
    }))
}

/// The session's user, if the session is valid: the user exists, is active and the session was
/// created after the last password change. An invalid session is emptied.
pub async fn load_current_user(db: &PgPool, session: &Session) -> anyhow::Result<Option<CurrentUser>> {
    let Some(uid) = session.get::<i64>(SESSION_USER).await? else {
        return Ok(None);
    };
    let epoch = session.get::<i32>(SESSION_EPOCH).await?.unwrap_or(-1);
    match fetch_user(db, uid).await? {
        Some((user, true)) if user.session_epoch == epoch => Ok(Some(user)),
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}
