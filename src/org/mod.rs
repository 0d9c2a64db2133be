//! The organisation directory every layer reads: users (pickers, names, superior chains) and the
//! department tree (pickers, subtrees). Admin pages change it (`modules::admin::{users,
//! departments}`); lists, forms and the approval engine read it from here.

pub mod departments;
pub mod users;
