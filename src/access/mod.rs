//! Access control: what a user may do (permissions) and which records they may see (scopes).
//!
//! - `catalog`: the modules and actions that exist, and what seeded roles get by default.
//! - `routes`: the route builder; every route declares its guard there (the allow-list).
//! - `scope`: data scopes resolved per request into an owner set, and the one SQL predicate.

pub mod catalog;
pub mod ownership;
pub mod routes;
pub mod scope;

pub use catalog::{Action, MODULES, Module, ModuleDef, ScopeKind};
pub use routes::{Guard, RouteSpec, Routes};
pub use scope::DataScope;
