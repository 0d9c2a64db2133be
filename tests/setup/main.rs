//! Admin set-up data every module uses: dictionaries, custom fields, numbering rules.

#[path = "../common/mod.rs"]
mod common;

mod dicts;
mod fields;
mod numbering;
