//! Login (with two-factor sign-in), logout, own password, language choice; the `CurrentUser` loaded
//! on every request.

mod current;
mod handlers;
mod mail_prefs;
pub mod password;
mod throttle;
pub mod two_factor;
mod two_factor_pages;

pub use current::{CurrentUser, SESSION_EPOCH, SESSION_USER, fetch_user, load_current_user};
pub use handlers::routes;
pub use throttle::{LoginOutcome, purge_expired as purge_expired_locks};
