//! Admin set-up data every module uses: dictionaries, custom fields, numbering rules; and the
//! installation's reliability: database restarts, killed processes, two instances, backups.

#[path = "../common/mod.rs"]
mod common;

mod backup;
mod dicts;
mod fields;
mod instances;
mod mail;
mod numbering;
mod reliability;
mod upgrade;
