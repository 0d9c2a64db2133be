//! Working a customer: contacts, follow-ups and the timeline, team, sharing, transfer, lock and
//! freeze, attachments, notifications and reminders.

#[path = "../common/mod.rs"]
mod common;

mod attachments;
mod contacts;
mod customer_work;
mod export_daily_work;
mod followups;
mod notifications;
mod schedule;
mod tasks;
mod todo;
mod worklogs;
