//! The record registry's kernel: what every owned record kind (customers, contacts, leads, and
//! whatever registers next) shares. A module describes its records once (`def::RecordDef`),
//! implements `def::Record`, registers the descriptor at assembly and merges `routes::<R>()`;
//! stars, the recycle bin, team and sharing, transfer, attachments and follow-ups come with it.
//! Tables and entity names used here are code constants, never user input.

pub mod bin;
pub mod def;
pub mod detail;
pub mod form;
pub mod links;
pub mod normalize;
pub mod routes;
pub mod sql;
pub mod stars;
pub mod team;
pub mod transfer;

pub use def::{Features, Parent, ReadOnly, Record, RecordDef};
pub use routes::routes;
