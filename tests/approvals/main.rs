//! The approval engine, the approvals inbox and flows admin, and customer status upgrades.

#[path = "../common/mod.rs"]
mod common;

mod engine;
