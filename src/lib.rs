//! CRM: a server-rendered sales CRM (axum + askama over Postgres).
//! See ARCHITECTURE.md for the map; each kernel folder holds one cross-cutting mechanism.

pub mod access;
pub mod app;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod dicts;
pub mod error;
pub mod exports;
pub mod fields;
pub mod imports;
pub mod jobs;
pub mod list;
pub mod mail;
pub mod modules;
pub mod money;
pub mod notify;
pub mod numbering;
pub mod org;
pub mod records;
pub mod registry;
pub mod seed;
pub mod state;
pub mod timeline;
pub mod todo;
pub mod web;
pub mod workflow;

pub use app::router;
pub use state::AppState;
