//! Web kernel: request context, page context for templates, CSRF, flash, assets, i18n, forms.

pub mod assets;
pub mod context;
pub mod csrf;
pub mod flash;
pub mod format;
pub mod forms;
pub mod headers;
pub mod i18n;
pub mod input;
pub mod nav;
pub mod page;
pub mod pager;

pub use context::RequestCtx;
pub use flash::Flash;
pub use forms::{FormData, FormErrors, SelectOpt};
pub use page::{PageCtx, done, render};
pub use pager::Pager;
