//! The stage groups page (groups, their departments and stages) and the group page (name,
//! departments, default, stages with names in both languages, win rates and order).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use super::repo::{self, GroupLine, StageInput};
use crate::audit::Entry;
use crate::db::Tx;
use crate::error::{AppError, AppResult, FOREIGN_KEY, ResultExt};
use crate::modules::opportunities::stages::{self, Group, Stage};
use crate::org::departments as depts;
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

const HOME: &str = "/admin/stages";
const ENTITY: &str = "stage_group";

#[derive(Template)]
#[template(path = "admin/stages/index.html")]
struct IndexPage {
    ctx: PageCtx,
    groups: Vec<GroupLine>,
    stages: Vec<Stage>,
    form: FormData,
    errors: FormErrors,
}

crate::page!(IndexPage);

impl IndexPage {
    fn stages_of(&self, group: &i64) -> Vec<&Stage> {
        self.stages.iter().filter(|s| s.group_id == *group).collect()
    }
}

async fn index_page(st: &AppState, ctx: PageCtx, form: FormData, errors: FormErrors) -> AppResult<IndexPage> {
    Ok(IndexPage { groups: repo::lines(&st.db).await?, stages: stages::all(&st.db).await?, ctx, form, errors })
}

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Html<String>> {
    let errors = FormErrors::new(ctx.lang);
    render(index_page(&st, ctx, FormData::default(), errors).await?).await
}

fn checked_name(form: &FormData, errors: &mut FormErrors) -> String {
    let name = form.get("name").trim().to_string();
    errors.require("name", &name);
    if name.chars().count() > 50 {
        errors.add("name", "customer.error.too_long");
    }
    name
}

/// POST /admin/stages — a new group, starting with a copy of the default group's stages.
pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    form: FormData,
) -> AppResult<Response> {
    let mut errors = FormErrors::new(ctx.lang);
    let name = checked_name(&form, &mut errors);
    let id = if errors.is_empty() {
        repo::insert(&mut tx, &name).await.on_constraint("stage_groups_name_key", || ())?.ok()
    } else {
        None
    };
    let Some(id) = id else {
        drop(tx);
        if errors.is_empty() {
            errors.add("name", "stages.error.name_taken");
        }
        let page = index_page(&st, ctx, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    };
    Entry::new(ENTITY, id, "create")
        .change("name", Value::Null, name.clone())
        .write(&mut tx, Some(req.user()?.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, ctx.tf1("stages.created", "name", &name), &format!("{HOME}/{id}")).await
}

#[derive(Template)]
#[template(path = "admin/stages/group.html")]
struct GroupPage {
    ctx: PageCtx,
    group: Group,
    stages: Vec<Stage>,
    /// Opportunities at each stage.
    uses: Vec<(i64, i64)>,
    depts: Vec<SelectOpt>,
    chosen: Vec<i64>,
    /// Departments that belong to another group, with its name.
    taken: Vec<(i64, String)>,
    form: FormData,
    errors: FormErrors,
    /// The stages form as typed (rows of id, zh, en, rate) when it came back with errors.
    rows: Vec<[String; 4]>,
    stage_errors: FormErrors,
}

crate::page!(GroupPage);

impl GroupPage {
    fn uses_of(&self, stage: &i64) -> i64 {
        self.uses.iter().find(|(s, _)| s == stage).map_or(0, |(_, n)| *n)
    }

    fn is_chosen(&self, dept: &str) -> bool {
        dept.parse::<i64>().is_ok_and(|d| self.chosen.contains(&d))
    }

    fn taken_by(&self, dept: &str) -> Option<&str> {
        let d = dept.parse::<i64>().ok()?;
        self.taken.iter().find(|(t, _)| *t == d).map(|(_, g)| g.as_str())
    }

    fn row_error(&self, i: &usize) -> Option<&str> {
        self.stage_errors.get(&format!("stage_{i}"))
    }
}

async fn find_group(st: &AppState, id: i64) -> AppResult<Group> {
    stages::groups(&st.db).await?.into_iter().find(|g| g.id == id).ok_or(AppError::NotFound)
}

async fn group_page(st: &AppState, ctx: PageCtx, id: i64) -> AppResult<GroupPage> {
    let group = find_group(st, id).await?;
    let mut conn = st.db.acquire().await?;
    let group_stages = stages::of_group(&mut conn, id).await?;
    drop(conn);
    let rows = group_stages
        .iter()
        .map(|s| [s.id.to_string(), s.name_zh.clone(), s.name_en.clone(), s.win_rate.to_string()])
        .chain(std::iter::once(Default::default()))
        .collect();
    let mut form = FormData::default();
    form.set("name", &group.name);
    Ok(GroupPage {
        uses: stages::use_counts(&st.db, id).await?,
        depts: depts::options(&st.db).await?,
        chosen: repo::dept_ids(&st.db, id).await?,
        taken: repo::taken_depts(&st.db, id).await?,
        errors: FormErrors::new(ctx.lang),
        stage_errors: FormErrors::new(ctx.lang),
        stages: group_stages,
        group,
        form,
        rows,
        ctx,
    })
}

pub async fn edit(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Html<String>> {
    render(group_page(&st, ctx, id).await?).await
}

/// POST /admin/stages/{id} — the name and the departments.
pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    mut tx: Tx,
    form: FormData,
) -> AppResult<Response> {
    let group = find_group(&st, id).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let name = checked_name(&form, &mut errors);
    let chosen: Vec<i64> = form.all("dept_ids").iter().filter_map(|d| d.parse().ok()).collect();
    repo::lock_groups(&mut tx).await?;
    let renamed = if errors.is_empty() {
        repo::rename(&mut tx, id, &name).await.on_constraint("stage_groups_name_key", || ())?.is_ok()
    } else {
        false
    };
    if !renamed {
        drop(tx);
        if errors.is_empty() {
            errors.add("name", "stages.error.name_taken");
        }
        let mut page = group_page(&st, ctx, id).await?;
        page.form = form;
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let names = |ids: &[i64], all: &[SelectOpt]| -> Value {
        let mut v: Vec<String> = all
            .iter()
            .filter(|o| o.value.parse().is_ok_and(|d: i64| ids.contains(&d)))
            .map(|o| o.label.trim().to_string())
            .collect();
        v.sort();
        json!(v.join("、"))
    };
    let all = depts::options(&st.db).await?;
    let before = repo::dept_ids(&st.db, id).await?;
    repo::set_depts(&mut tx, id, &chosen).await?;
    let entry = Entry::new(ENTITY, id, "update").change("name", group.name, name.clone()).change(
        "depts",
        names(&before, &all),
        names(&chosen, &all),
    );
    if entry.has_changes() {
        entry.write(&mut tx, Some(req.user()?.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, ctx.tf1("stages.saved", "name", &name), &format!("{HOME}/{id}")).await
}

/// POST /admin/stages/{id}/default — the group for departments no group names.
pub async fn make_default(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    mut tx: Tx,
) -> AppResult<Response> {
    let group = find_group(&st, id).await?;
    repo::lock_groups(&mut tx).await?;
    repo::make_default(&mut tx, id).await?;
    Entry::new(ENTITY, id, "make_default").write(&mut tx, Some(req.user()?.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1("stages.now_default", "name", &group.name), &format!("{HOME}/{id}")).await
}

/// A refused change: nothing written, the reason as an error on the page it came from.
async fn refuse(tx: Tx, ctx: &PageCtx, text: String, to: &str) -> AppResult<Response> {
    drop(tx);
    ctx.flash_text(crate::web::flash::Kind::Error, text).await;
    Ok(axum::response::Redirect::to(to).into_response())
}

/// POST /admin/stages/{id}/delete — only a group no opportunity uses, and not the default.
pub async fn delete(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    mut tx: Tx,
) -> AppResult<Response> {
    let group = find_group(&st, id).await?;
    if group.is_default {
        return Err(AppError::Conflict("stages.error.default_delete"));
    }
    repo::lock_groups(&mut tx).await?;
    let used: i64 = repo::lines(&st.db).await?.iter().find(|g| g.id == id).map_or(0, |g| g.opportunities);
    if used > 0 {
        let text = ctx.tf1("stages.error.group_in_use", "n", &used.to_string());
        return refuse(tx, &ctx, text, &format!("{HOME}/{id}")).await;
    }
    repo::delete_group(&mut tx, id).await?;
    Entry::new(ENTITY, id, "delete")
        .change("name", group.name.clone(), Value::Null)
        .write(&mut tx, Some(req.user()?.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, ctx.tf1("stages.deleted", "name", &group.name), HOME).await
}

/// The stage rows typed: (id, zh, en, rate) per row, in the order given by the `order` field
/// (a row's number; rows keep their place when it is left alone).
fn typed_rows(form: &FormData) -> Vec<[String; 4]> {
    let col = |n: &str| form.all(n).into_iter().map(str::to_string).collect::<Vec<_>>();
    let (ids, zh, en, rate, order) = (col("stage_id"), col("name_zh"), col("name_en"), col("win_rate"), col("order"));
    let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
    let mut rows: Vec<(f64, usize, [String; 4])> = (0..zh.len())
        .map(|i| {
            let rank = at(&order, i).trim().parse().unwrap_or(i as f64 + 1.0);
            (rank, i, [at(&ids, i), at(&zh, i), at(&en, i), at(&rate, i)])
        })
        .collect();
    rows.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
    rows.into_iter().map(|(_, _, r)| r).collect()
}

/// POST /admin/stages/{id}/stages — every stage's names, win rate and order, plus a new one
/// when its row is filled in.
pub async fn save_stages(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    mut tx: Tx,
    form: FormData,
) -> AppResult<Response> {
    let group = find_group(&st, id).await?;
    let before = stages::of_group(&mut tx, id).await?;
    let rows = typed_rows(&form);
    let mut errors = FormErrors::new(ctx.lang);
    let mut input = Vec::new();
    for (i, [sid, zh, en, rate]) in rows.iter().enumerate() {
        let id = sid.trim().parse::<i64>().ok().filter(|s| before.iter().any(|b| b.id == *s));
        if id.is_none() && [zh, en, rate].iter().all(|v| v.trim().is_empty()) {
            continue; // the blank row for a new stage
        }
        let rate = rate.trim().parse::<i16>().ok().filter(|r| (0..=100).contains(r));
        let field = format!("stage_{i}");
        match rate {
            _ if zh.trim().is_empty() || en.trim().is_empty() => errors.add(&field, "stages.error.names"),
            None => errors.add(&field, "stages.error.rate"),
            Some(rate) => input.push(StageInput {
                id,
                name_zh: zh.trim().chars().take(30).collect(),
                name_en: en.trim().chars().take(40).collect(),
                win_rate: rate,
            }),
        }
    }
    if input.is_empty() && errors.is_empty() {
        errors.add("stage_0", "stages.error.at_least_one");
    }
    if !errors.is_empty() {
        drop(tx);
        let mut page = group_page(&st, ctx, id).await?;
        page.rows = rows;
        page.stage_errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    repo::save_stages(&mut tx, id, &input).await?;
    let after = stages::of_group(&mut tx, id).await?;
    let text = |list: &[Stage], lang: crate::web::i18n::Lang| {
        list.iter().map(|s| format!("{} {}%", s.name(lang), s.win_rate)).collect::<Vec<_>>().join(" → ")
    };
    let describe = |list: &[Stage]| json!({ "zh": text(list, crate::web::i18n::Lang::Zh), "en": text(list, crate::web::i18n::Lang::En) });
    let entry = Entry::new(ENTITY, id, "update").change("stages", describe(&before), describe(&after));
    if entry.has_changes() {
        entry.write(&mut tx, Some(req.user()?.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, ctx.tf1("stages.saved", "name", &group.name), &format!("{HOME}/{id}")).await
}

/// POST /admin/stages/{id}/stages/{stage_id}/delete — only a stage no opportunity is at, and
/// never a group's last one.
pub async fn delete_stage(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, stage_id)): Path<(i64, i64)>,
    mut tx: Tx,
) -> AppResult<Response> {
    find_group(&st, id).await?;
    let before = stages::of_group(&mut tx, id).await?;
    let stage = before.iter().find(|s| s.id == stage_id).ok_or(AppError::NotFound)?;
    let here = format!("{HOME}/{id}");
    let used = repo::stage_use(&mut tx, stage_id).await?;
    let refusal = if used > 0 {
        Some(ctx.tf("stages.error.stage_in_use", &[("name", stage.name(ctx.lang)), ("n", &used.to_string())]))
    } else if before.len() == 1 {
        Some(ctx.t("stages.error.at_least_one").to_string())
    } else {
        None
    };
    if let Some(text) = refusal {
        return refuse(tx, &ctx, text, &here).await;
    }
    // An opportunity moved to it meanwhile: the foreign key refuses.
    if repo::delete_stage(&mut tx, id, stage_id).await.on_constraint(FOREIGN_KEY, || ())?.is_err() {
        return Err(AppError::Conflict("stages.error.stage_taken"));
    }
    Entry::new(ENTITY, id, "delete_stage")
        .change("stage", json!({ "zh": stage.name_zh, "en": stage.name_en }), Value::Null)
        .write(&mut tx, Some(req.user()?.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, ctx.tf1("stages.stage_deleted", "name", stage.name(ctx.lang)), &here).await
}
