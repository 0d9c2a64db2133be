//! Organisation and access control: departments, users, roles, data scopes, allow-list, audit.

#[path = "../common/mod.rs"]
mod common;

mod logs;
mod roles;
