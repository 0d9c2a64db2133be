//! Organisation and access control: departments, users, roles, data scopes, allow-list, audit.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod departments;
mod logs;
mod roles;
mod scopes;
mod two_factor;
mod users;
