//! Creating and editing leads: validation, custom fields, owner, audit.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::model::{self, DICT_FIELDS, DICTS, ENTITY, Lead, LeadInput, TEXT_FIELDS};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::audit::{self, Entry};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldDef, FieldInput};
use crate::org::users;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, render};

#[derive(Template)]
#[template(path = "leads/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Lead>,
    form: FormData,
    errors: FormErrors,
    dicts: Dicts,
    custom: Vec<FieldInput>,
    owner_options: Vec<SelectOpt>,
}

impl FormPage {
    fn options(&self, dict: &str, field: &str) -> Vec<SelectOpt> {
        let current = self.current.as_ref().and_then(|c| c.dict_value(field));
        self.dicts.options(dict, self.ctx.lang, current)
    }

    fn dict_fields(&self) -> &'static [(&'static str, &'static str)] {
        DICT_FIELDS
    }

    fn field_label(&self, field: &str) -> &'static str {
        self.ctx.t(&format!("lead.{}", field.trim_end_matches("_id")))
    }
}

/// A live lead the user may change: visible, owner in scope or a read-write team member, and not
/// converted (a converted lead is read-only).
pub async fn writable(st: &AppState, scope: &DataScope, id: i64) -> AppResult<Lead> {
    let l = repo::find_visible(&st.db, scope, id, false).await?.ok_or(AppError::NotFound)?;
    if !scope.can_write(&st.db, ENTITY, id, l.owner_id).await? {
        return Err(AppError::Forbidden);
    }
    if l.is_converted() {
        return Err(AppError::Conflict("lead.error.converted"));
    }
    Ok(l)
}

struct Ctx<'a> {
    st: &'a AppState,
    user: &'a CurrentUser,
    scope: DataScope,
    dicts: Dicts,
    defs: Vec<FieldDef>,
}

impl<'a> Ctx<'a> {
    async fn load(st: &'a AppState, user: &'a CurrentUser) -> AppResult<Ctx<'a>> {
        Ok(Ctx {
            scope: DataScope::resolve(&st.db, user, Module::Leads).await?,
            dicts: Dicts::load(&st.db, DICTS).await?,
            defs: fields::defs(&st.db, ENTITY).await?,
            st,
            user,
        })
    }

    async fn page(
        self,
        ctx: PageCtx,
        current: Option<Lead>,
        form: FormData,
        errors: FormErrors,
        submitted: bool,
    ) -> AppResult<FormPage> {
        let user_opts = users::options(&self.st.db, true).await?;
        let stored = current.as_ref().map(|c| c.custom.0.clone()).unwrap_or_default();
        let inactive = fields::inactive_users(&self.st.db, &self.defs, &stored).await?;
        let submitted = submitted.then(|| form.pairs().to_vec());
        let custom = fields::inputs(
            &self.defs,
            &stored,
            submitted.as_deref(),
            &errors,
            ctx.lang,
            self.st.config.timezone,
            &user_opts,
            &inactive,
        );
        let owner_options = if current.is_none() && self.user.can(Module::Leads, Action::Transfer) {
            match &self.scope.owners {
                None => user_opts,
                Some(owners) => user_opts
                    .into_iter()
                    .filter(|o| o.value.parse().is_ok_and(|id: i64| owners.contains(&id)))
                    .collect(),
            }
        } else {
            Vec::new()
        };
        Ok(FormPage { ctx, current, form, errors, dicts: self.dicts, custom, owner_options })
    }
}

pub async fn new(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Html<String>> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let mut form = FormData::default();
    form.set("level", "1");
    form.set("owner_id", user.id.to_string());
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, None, form, errors, false).await?)
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let lead = writable(&st, &c.scope, id).await?;
    let form = lead.to_form(st.config.timezone);
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, Some(lead), form, errors, false).await?)
}

pub async fn create(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    save(c, ctx, &req, None, form).await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let current = writable(&st, &c.scope, id).await?;
    save(c, ctx, &req, Some(current), form).await
}

async fn save(
    c: Ctx<'_>,
    ctx: PageCtx,
    req: &RequestCtx,
    current: Option<Lead>,
    form: FormData,
) -> AppResult<Response> {
    let (st, user) = (c.st, c.user);
    let mut errors = FormErrors::new(ctx.lang);
    let mut input = model::check(&form, &c.dicts, current.as_ref(), st.config.timezone, &mut errors);
    let active_users: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE status = 'active'").fetch_all(&st.db).await?;
    let stored = current.as_ref().map(|cur| &*cur.custom);
    input.custom = fields::parse(&c.defs, form.pairs(), stored, st.config.timezone, &active_users, &mut errors);
    if let Some(cur) = &current {
        fields::keep_hidden(&c.defs, &cur.custom, &mut input.custom);
    }
    input.owner_id = match &current {
        Some(cur) => cur.owner_id,
        None => Some(match input.owner_id {
            Some(o) if o != user.id => {
                if user.can(Module::Leads, Action::Transfer) && c.scope.owns(Some(o)) && active_users.contains(&o) {
                    o
                } else {
                    errors.add("owner_id", "customer.error.owner");
                    user.id
                }
            }
            _ => user.id,
        }),
    };
    let mut tx = st.db.begin().await?;
    let id = current.as_ref().map(|cur| cur.id);
    if let Some(id) = id
        && repo::lock(&mut tx, id).await? != Some(false)
    {
        return Err(AppError::Conflict("lead.error.converted"));
    }
    fields::check_unique(&mut tx, ENTITY, &c.defs, &input.custom, id, &mut errors).await?;
    if !errors.is_empty() {
        drop(tx);
        let page = c.page(ctx, current, form, errors, true).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page)?).into_response());
    }
    let saved_id = match &current {
        None => {
            let owner = input.owner_id.unwrap_or(user.id);
            let id = repo::insert(&mut tx, &input, owner, user.id).await?;
            let after = snapshot(&mut tx, &c, &input, input.owner_id).await?;
            diff(Entry::new(ENTITY, id, "create"), &[], &after)
                .write(&mut tx, Some(user.id), req.ip.as_deref())
                .await?;
            id
        }
        Some(cur) => {
            let before = snapshot(&mut tx, &c, &input_of(cur), cur.owner_id).await?;
            repo::update(&mut tx, cur.id, &input).await?;
            let after = snapshot(&mut tx, &c, &input, cur.owner_id).await?;
            let entry = diff(Entry::new(ENTITY, cur.id, "update"), &before, &after);
            if entry.has_changes() {
                entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
            }
            cur.id
        }
    };
    tx.commit().await?;
    let key = if current.is_none() { "lead.created" } else { "lead.saved" };
    ctx.flash_text(Kind::Success, ctx.tf1(key, "name", &input.name)).await;
    Ok(Redirect::to(&format!("/leads/{saved_id}")).into_response())
}

/// The lead as an input, to compare with an edit.
fn input_of(l: &Lead) -> LeadInput {
    LeadInput {
        name: l.name.clone(),
        level: l.level,
        dicts: DICT_FIELDS.iter().map(|(col, _)| (*col, l.dict_value(col))).collect(),
        texts: TEXT_FIELDS.iter().map(|(col, _)| (*col, l.text_value(col).map(str::to_string))).collect(),
        next_contact_at: l.next_contact_at,
        owner_id: l.owner_id,
        custom: l.custom.0.clone(),
    }
}

/// Field → shown value, for the history. Dictionary values keep both languages.
async fn snapshot(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    input: &LeadInput,
    owner: Option<i64>,
) -> AppResult<Vec<(String, Value)>> {
    let tz = c.st.config.timezone;
    let mut out: Vec<(String, Value)> = vec![("name".into(), json!(input.name)), ("level".into(), json!(input.level))];
    for (col, v) in &input.dicts {
        out.push((col.trim_end_matches("_id").to_string(), crate::modules::customers::model::dict_audit(&c.dicts, *v)));
    }
    for (col, v) in &input.texts {
        out.push((col.to_string(), audit::opt(v.clone())));
    }
    out.push((
        "next_contact_at".into(),
        audit::opt(input.next_contact_at.map(|d| crate::web::format::datetime(&d, tz))),
    ));
    out.push(("owner".into(), audit::opt(users::name_of(tx, owner).await?)));
    let names: HashMap<i64, String> = HashMap::new();
    for def in &c.defs {
        let shown = fields::display(def, input.custom.get(&def.key), Lang::Zh, tz, &names);
        out.push((def.label_zh.clone(), if shown.is_empty() { Value::Null } else { json!(shown) }));
    }
    Ok(out)
}

fn diff(mut entry: Entry, before: &[(String, Value)], after: &[(String, Value)]) -> Entry {
    for (field, new) in after {
        let old = before.iter().find(|(f, _)| f == field).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
        entry = entry.change(field, old, new.clone());
    }
    entry
}
