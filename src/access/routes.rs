//! The allow-list. Routes are only ever added through `Routes`, which makes each one declare a
//! `Guard` and enforces it in a per-route layer. `Routes::specs` lists them all, so a test can walk
//! every route the app serves.

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};

use super::{Action, Module};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::RequestCtx;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// No login needed (login page, health checks, static files).
    Public,
    /// Any logged-in user (own account pages, home).
    Login,
    /// Any logged-in user, also one who must still set up two-factor sign-in (the enrolment page):
    /// every other guard but `Public` sends such a user there.
    Enrol,
    /// A logged-in user holding this permission.
    Perm(Module, Action),
    /// Any one of these permissions.
    AnyOf(&'static [(Module, Action)]),
}

#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub guard: Guard,
}

#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get<H, T>(self, path: &'static str, guard: Guard, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, guard, get(handler))
    }

    pub fn post<H, T>(self, path: &'static str, guard: Guard, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, guard, post(handler))
    }

    fn add(mut self, method: Method, path: &'static str, guard: Guard, route: MethodRouter<AppState>) -> Self {
        let route = route.route_layer(from_fn_with_state(guard, enforce));
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec { method, path, guard });
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.specs.extend(other.specs);
        self
    }

    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteSpec>) {
        (self.router, self.specs)
    }
}

impl Guard {
    pub fn allows(&self, ctx: &RequestCtx) -> Result<(), AppError> {
        let user = match (self, &ctx.user) {
            (Guard::Public, _) => return Ok(()),
            (_, None) => return Err(AppError::Unauthenticated),
            (_, Some(u)) => u,
        };
        if user.must_enrol && *self != Guard::Enrol {
            return Err(AppError::Forbidden);
        }
        let ok = match self {
            Guard::Public | Guard::Login | Guard::Enrol => true,
            Guard::Perm(m, a) => user.can(*m, *a),
            Guard::AnyOf(list) => list.iter().any(|(m, a)| user.can(*m, *a)),
        };
        if ok { Ok(()) } else { Err(AppError::Forbidden) }
    }
}

async fn enforce(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned().unwrap_or_default();
    if guard != Guard::Public && guard != Guard::Enrol && ctx.user.as_ref().is_some_and(|u| u.must_enrol) {
        return Redirect::to(crate::auth::two_factor::ENROL_PATH).into_response();
    }
    match guard.allows(&ctx) {
        Ok(()) => next.run(req).await,
        Err(AppError::Unauthenticated) => login_redirect(&req),
        Err(e) => e.into_response(),
    }
}

/// Anonymous visitors go to the login page; a GET remembers where they were heading.
fn login_redirect(req: &Request) -> Response {
    if req.method() == Method::GET {
        let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}")).into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}
