//! The import pages of one source ({path}/import...): upload, template, then the mapping page
//! where the sheet(s), columns, duplicate mode and owner rule are chosen, a preview is shown,
//! and the batch is started.

use std::collections::HashMap;

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::convert::{self, Target};
use super::repo::{self, BatchRow, Options};
use super::{DupMode, Source, read, sheets, worker};
use crate::access::Action;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::records::form::RecordForm;
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, render};

/// Data rows shown in the preview.
const PREVIEW_ROWS: usize = 10;

#[derive(Template)]
#[template(path = "imports/new.html")]
struct NewPage {
    ctx: PageCtx,
    title: String,
    path: &'static str,
    errors: FormErrors,
    recent: Vec<BatchRow>,
    limit_mb: usize,
}

crate::page!(NewPage);

fn title(source: &Source, lang: Lang) -> String {
    lang.tf("import.title", &[("what", lang.t(&source.def.label_key()))])
}

/// GET {path}/import — the upload form, the template link and the user's recent batches.
pub async fn new(source: &'static Source, st: AppState, ctx: PageCtx, req: RequestCtx) -> AppResult<Response> {
    let user = req.user()?;
    new_page(source, &st, ctx, user, FormErrors::default(), StatusCode::OK).await
}

async fn new_page(
    source: &'static Source,
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    errors: FormErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let recent = repo::batches(&st.db, &[source.code()], user.id, false, 10).await?;
    let page = NewPage {
        title: title(source, ctx.lang),
        path: source.def.path,
        errors,
        recent,
        limit_mb: st.config.upload_limit_mb,
        ctx,
    };
    Ok((status, render(page).await?).into_response())
}

/// GET {path}/import/template.xlsx
pub async fn template(source: &'static Source, st: AppState, ctx: PageCtx) -> AppResult<Response> {
    let defs = crate::fields::defs(&st.db, source.def.entity).await?;
    let targets = convert::targets(source, &defs);
    let dicts = crate::dicts::Dicts::load(&st.db, &source.dict_codes()).await?;
    let lang = ctx.lang;
    let name = lang.t(&source.def.label_key());
    let bytes = sheets::template(name, &targets, &dicts, &defs, lang).map_err(|e| AppError::Internal(e.into()))?;
    Ok(xlsx(bytes, &format!("{}.xlsx", lang.tf("import.template.file", &[("what", name)]))))
}

/// An .xlsx download.
pub fn xlsx(bytes: Vec<u8>, file_name: &str) -> Response {
    let mut resp = bytes.into_response();
    crate::attachments::as_download(&mut resp, file_name, XLSX_TYPE);
    resp
}

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// POST {path}/import (multipart, field "file") → the mapping page of the upload.
pub async fn upload(
    source: &'static Source,
    st: AppState,
    ctx: PageCtx,
    req: RequestCtx,
    mp: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let file = match mp {
        Ok(mp) => read_file(mp, st.config.upload_limit_bytes()).await,
        Err(_) => Err("import.error.no_file"),
    };
    let refused = match file {
        Err(key) => Some(key),
        Ok((name, _)) if !read::accepted(&name) => Some("import.error.file_type"),
        Ok((ref name, ref bytes)) => match read::sheet_names(name, bytes) {
            Ok(sheets) if !sheets.is_empty() => {
                let id = repo::insert_upload(&st.db, user.id, source.code(), name, bytes).await?;
                return Ok(Redirect::to(&format!("{}/import/{id}", source.def.path)).into_response());
            }
            Ok(_) => Some("import.error.no_sheet"),
            Err(e) => Some(e.0),
        },
    };
    if let Some(key) = refused {
        errors.add("file", key);
    }
    new_page(source, &st, ctx, user, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The "file" part: (name, bytes), within `limit`.
async fn read_file(mut mp: Multipart, limit: usize) -> Result<(String, Vec<u8>), &'static str> {
    while let Ok(Some(mut field)) = mp.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default().to_string();
        let mut data = Vec::new();
        while let Ok(Some(chunk)) = field.chunk().await {
            if data.len() + chunk.len() > limit {
                return Err("import.error.too_large");
            }
            data.extend_from_slice(&chunk);
        }
        if name.is_empty() || data.is_empty() {
            return Err("import.error.no_file");
        }
        return Ok((name, data));
    }
    Err("import.error.no_file")
}

#[derive(Template)]
#[template(path = "imports/map.html")]
struct MapPage {
    ctx: PageCtx,
    title: String,
    action: String,
    file_name: String,
    /// (sheet name, chosen for import, href showing its columns)
    sheets: Vec<(String, bool, String)>,
    sheet: String,
    total_rows: usize,
    columns: Vec<MapColumn>,
    targets: Vec<SelectOpt>,
    missing: Vec<String>,
    dup_modes: Vec<SelectOpt>,
    owner_modes: Vec<SelectOpt>,
    owner_options: Vec<SelectOpt>,
    form: FormData,
    errors: FormErrors,
    preview: Option<Preview>,
}

crate::page!(MapPage);

impl MapPage {
    fn owner_chosen(&self, id: &str) -> bool {
        self.form.all("owners").contains(&id)
    }

    /// "import.will.created": what the preview says a row would become.
    fn will_key(&self, outcome: &str) -> String {
        format!("import.will.{outcome}")
    }
}

struct MapColumn {
    index: usize,
    header: String,
    sample: String,
    chosen: String,
}

/// The first rows as they would be stored.
pub struct Preview {
    pub headers: Vec<String>,
    pub rows: Vec<worker::PreviewRow>,
}

#[derive(Deserialize, Default)]
pub struct SheetQuery {
    #[serde(default)]
    sheet: String,
}

/// An upload of the user's for this source, with its sheet names.
async fn load_upload(
    st: &AppState,
    source: &Source,
    user: &CurrentUser,
    id: i64,
) -> AppResult<(String, Vec<u8>, Vec<String>)> {
    let (src, name, bytes) = repo::upload(&st.db, id, user.id).await?.ok_or(AppError::NotFound)?;
    if src != source.code() {
        return Err(AppError::NotFound);
    }
    let sheets = read::sheet_names(&name, &bytes).map_err(|e| AppError::BadRequest(e.0))?;
    Ok((name, bytes, sheets))
}

/// GET {path}/import/{upload}?sheet= — map the columns of a sheet.
pub async fn mapping(
    source: &'static Source,
    st: AppState,
    ctx: PageCtx,
    req: RequestCtx,
    id: i64,
    q: SheetQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let (name, bytes, sheet_names) = load_upload(&st, source, user, id).await?;
    let sheet = if sheet_names.contains(&q.sheet) { q.sheet } else { sheet_names[0].clone() };
    let mut form = FormData::default();
    form.set("sheet", &sheet);
    form.push("sheets", &sheet);
    form.set("dup", DupMode::Skip.code());
    form.set("owner", "me");
    let remembered = repo::mapping(&st.db, user.id, source.code()).await?;
    let errors = FormErrors::new(ctx.lang);
    let rows = rows_of(&name, &bytes, &sheet)?;
    let targets = targets_of(&st, source).await?;
    let upload = (id, name.as_str(), sheet_names.as_slice());
    let page =
        map_page(source, &st, ctx, user, upload, (&rows, &targets), form, Some(&remembered), errors, None).await?;
    Ok(render(page).await?.into_response())
}

/// POST {path}/import/{upload} — preview the first rows, or start the import.
pub async fn submit(
    source: &'static Source,
    st: AppState,
    ctx: PageCtx,
    req: RequestCtx,
    id: i64,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let (name, bytes, sheet_names) = load_upload(&st, source, user, id).await?;
    let sheet = form.get("sheet").to_string();
    if !sheet_names.contains(&sheet) {
        return Err(AppError::BadRequest("import.error.no_sheet"));
    }
    let rows = rows_of(&name, &bytes, &sheet)?;
    let header = rows.first().map(|(_, h)| h.clone()).unwrap_or_default();
    let targets = targets_of(&st, source).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let options = options_of(source, &st, user, &form, &header, &targets, &mut errors, ctx.lang).await?;
    let chosen: Vec<String> =
        form.all("sheets").iter().filter(|s| sheet_names.contains(&s.to_string())).map(|s| s.to_string()).collect();
    if chosen.is_empty() {
        errors.add("sheets", "import.error.no_sheet_chosen");
    }
    let upload = (id, name.as_str(), sheet_names.as_slice());
    if form.get("action") == "start" && errors.is_empty() {
        let batches = start(&st, source, user, (id, &name), (&chosen, &sheet), &options, &header).await?;
        let to = match batches.as_slice() {
            [one] => format!("/imports/{one}"),
            _ => "/imports".to_string(),
        };
        return Ok(Redirect::to(&to).into_response());
    }
    let preview = if errors.is_empty() {
        let data: Vec<(i32, Vec<String>)> = rows.iter().skip(1).take(PREVIEW_ROWS).cloned().collect();
        let shown = worker::preview(&st, user, source, &options, &data).await?;
        let headers = options
            .mapping
            .iter()
            .flatten()
            .filter_map(|k| targets.iter().find(|t| &t.key == k))
            .map(|t| t.label(ctx.lang).to_string())
            .collect();
        Some(Preview { headers, rows: shown })
    } else {
        None
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = map_page(source, &st, ctx, user, upload, (&rows, &targets), form, None, errors, preview).await?;
    Ok((status, render(page).await?).into_response())
}

/// The fields a file of `source` may fill, its custom fields included.
async fn targets_of(st: &AppState, source: &Source) -> AppResult<Vec<Target>> {
    let defs = crate::fields::defs(&st.db, source.def.entity).await?;
    Ok(convert::targets(source, &defs))
}

fn rows_of(name: &str, bytes: &[u8], sheet: &str) -> AppResult<read::SheetRows> {
    read::sheet(name, bytes, sheet).map_err(|e| AppError::BadRequest(e.0))
}

/// The batch options the form chose, checked: required fields mapped, a known duplicate mode,
/// owners the user may give records to.
#[allow(clippy::too_many_arguments)]
async fn options_of(
    source: &Source,
    st: &AppState,
    user: &CurrentUser,
    form: &FormData,
    header: &[String],
    targets: &[Target],
    errors: &mut FormErrors,
    lang: Lang,
) -> AppResult<Options> {
    let mapping: Vec<Option<String>> = (0..header.len())
        .map(|i| Some(form.get(&format!("col_{i}")).to_string()).filter(|k| targets.iter().any(|t| &t.key == k)))
        .collect();
    let missing = missing_required(targets, &mapping, lang);
    if !missing.is_empty() {
        errors.add_text("mapping", lang.tf("import.error.required_unmapped", &[("fields", &missing.join("、"))]));
    }
    let mut seen = Vec::new();
    for k in mapping.iter().flatten() {
        if seen.contains(k) {
            errors.add("mapping", "import.error.mapped_twice");
        }
        seen.push(k.clone());
    }
    let dup = match form.get("dup") {
        "update" if source.may_update => DupMode::Update,
        "create" if source.may_create_anyway => DupMode::Create,
        _ => DupMode::Skip,
    };
    let rf = RecordForm::load(st, user, source.def).await?;
    let may_choose = source.chooses_owner && rf.may_choose_owner();
    let owner = match form.get("owner") {
        "pool" if source.pool_owner && may_choose => "pool",
        "user" if may_choose => "user",
        "round_robin" if may_choose => "round_robin",
        _ => "me",
    };
    let allowed: Vec<i64> = rf.owner_options(true).await?.iter().filter_map(|o| o.value.parse().ok()).collect();
    let picked: Vec<&str> = match owner {
        "user" => vec![form.get("owner_user")],
        "round_robin" => form.all("owners"),
        _ => Vec::new(),
    };
    let owners: Vec<i64> = picked.iter().filter_map(|s| s.parse().ok()).collect();
    if owner != "me" && owner != "pool" && (owners.is_empty() || owners.iter().any(|o| !allowed.contains(o))) {
        errors.add("owner", "import.error.owner");
    }
    Ok(Options {
        mapping,
        by_header: HashMap::new(),
        dup,
        owner: owner.to_string(),
        owners,
        lang: lang.code().to_string(),
    })
}

fn missing_required(targets: &[Target], mapping: &[Option<String>], lang: Lang) -> Vec<String> {
    targets
        .iter()
        .filter(|t| t.required && !mapping.iter().flatten().any(|k| k == &t.key))
        .map(|t| t.label(lang).to_string())
        .collect()
}

/// Create one batch per chosen sheet, remember the mapping, and run them.
#[allow(clippy::too_many_arguments)]
async fn start(
    st: &AppState,
    source: &Source,
    user: &CurrentUser,
    (upload, file_name): (i64, &str),
    (sheets, shown): (&[String], &str),
    options: &Options,
    header: &[String],
) -> AppResult<Vec<i64>> {
    // Header text → target ("" for ignored): remembered, and how other sheets are mapped.
    let by_header: HashMap<String, String> = header
        .iter()
        .zip(&options.mapping)
        .filter(|(h, _)| !h.trim().is_empty())
        .map(|(h, k)| (h.trim().to_string(), k.clone().unwrap_or_default()))
        .collect();
    let mut tx = st.db.begin().await?;
    repo::remember_mapping(&mut tx, user.id, source.code(), &by_header).await?;
    let mut ids = Vec::new();
    for sheet in sheets {
        // The sheet mapped on the page keeps its columns; the others are matched by their headers.
        let opts = if sheet == shown {
            options.clone()
        } else {
            Options { mapping: Vec::new(), by_header: by_header.clone(), ..options.clone() }
        };
        ids.push(repo::insert_batch(&mut tx, (source.code(), user.id, upload), (file_name, sheet), &opts).await?);
    }
    tx.commit().await?;
    for id in &ids {
        worker::spawn(st.db.clone(), st.config.clone(), *id);
    }
    Ok(ids)
}

#[allow(clippy::too_many_arguments)]
async fn map_page(
    source: &'static Source,
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    (id, name, sheet_names): (i64, &str, &[String]),
    (rows, targets): (&read::SheetRows, &[Target]),
    mut form: FormData,
    remembered: Option<&HashMap<String, String>>,
    errors: FormErrors,
    preview: Option<Preview>,
) -> AppResult<MapPage> {
    let lang = ctx.lang;
    let sheet = form.get("sheet").to_string();
    let header = rows.first().map(|(_, h)| h.clone()).unwrap_or_default();
    if let Some(remembered) = remembered {
        for (i, k) in convert::auto_map(&header, targets, remembered).into_iter().enumerate() {
            form.set(&format!("col_{i}"), k.unwrap_or_default());
        }
    }
    let sample = rows.get(1).map(|(_, c)| c.clone()).unwrap_or_default();
    let columns = header
        .iter()
        .enumerate()
        .map(|(i, h)| MapColumn {
            index: i,
            header: h.clone(),
            sample: sample.get(i).cloned().unwrap_or_default(),
            chosen: form.get(&format!("col_{i}")).to_string(),
        })
        .collect::<Vec<_>>();
    let mapping: Vec<Option<String>> =
        columns.iter().map(|c| Some(c.chosen.clone()).filter(|k| !k.is_empty())).collect();
    let rf = RecordForm::load(st, user, source.def).await?;
    let may_choose = source.chooses_owner && rf.may_choose_owner();
    let mut owner_modes = Vec::new();
    if source.chooses_owner {
        owner_modes.push(SelectOpt::new("me", lang.t("import.owner.me")));
    }
    if may_choose {
        owner_modes.push(SelectOpt::new("user", lang.t("import.owner.user")));
        owner_modes.push(SelectOpt::new("round_robin", lang.t("import.owner.round_robin")));
        if source.pool_owner {
            owner_modes.push(SelectOpt::new("pool", lang.t("import.owner.pool")));
        }
    }
    let mut dup_modes = vec![SelectOpt::new("skip", lang.t("import.dup.skip"))];
    if source.may_update {
        dup_modes.push(SelectOpt::new("update", lang.t("import.dup.update")));
    }
    if source.may_create_anyway {
        dup_modes.push(SelectOpt::new("create", lang.t("import.dup.create")));
    }
    let chosen = form.all("sheets");
    let sheets = sheet_names
        .iter()
        .map(|s| {
            let href = format!(
                "{}/import/{id}?sheet={}",
                source.def.path,
                form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
            );
            (s.clone(), chosen.contains(&s.as_str()), href)
        })
        .collect();
    Ok(MapPage {
        title: title(source, lang),
        action: format!("{}/import/{id}", source.def.path),
        file_name: name.to_string(),
        sheets,
        sheet,
        total_rows: rows.len().saturating_sub(1),
        missing: missing_required(&targets, &mapping, lang),
        targets: targets.iter().map(|t| SelectOpt::new(&t.key, t.header(lang))).collect(),
        columns,
        dup_modes,
        owner_modes,
        owner_options: if may_choose { rf.owner_options(true).await? } else { Vec::new() },
        form,
        errors,
        preview,
        ctx,
    })
}

/// The routes of one source.
pub fn routes(source: &'static Source) -> crate::access::Routes {
    use axum::extract::DefaultBodyLimit;
    use axum::handler::Handler;
    let at = |suffix: &str| crate::records::routes::at(source.def, suffix);
    let guard = crate::access::Guard::Perm(source.module(), Action::Import);
    crate::access::Routes::new()
        .get(at("/import"), guard, move |State(st): State<AppState>, ctx: PageCtx, req: RequestCtx| {
            new(source, st, ctx, req)
        })
        .get(at("/import/template.xlsx"), guard, move |State(st): State<AppState>, ctx: PageCtx| {
            template(source, st, ctx)
        })
        .post(
            at("/import"),
            guard,
            (move |State(st): State<AppState>,
                   ctx: PageCtx,
                   req: RequestCtx,
                   mp: Result<Multipart, MultipartRejection>| { upload(source, st, ctx, req, mp) })
            .layer(DefaultBodyLimit::disable()),
        )
        .get(
            at("/import/{upload}"),
            guard,
            move |State(st): State<AppState>,
                  ctx: PageCtx,
                  req: RequestCtx,
                  Path(id): Path<i64>,
                  Query(q): Query<SheetQuery>| { mapping(source, st, ctx, req, id, q) },
        )
        .post(
            at("/import/{upload}"),
            guard,
            move |State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, Path(id): Path<i64>, form: FormData| {
                submit(source, st, ctx, req, id, form)
            },
        )
}
