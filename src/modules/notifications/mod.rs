//! The notification centre: every logged-in user's own inbox (no permission module: a user only
//! ever sees and changes their own notifications; anyone else's id is a 404).

mod handlers;
pub mod repo;
mod todo;

use crate::access::{Guard, Routes};
use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.todo_source(todo::HANDED_TO_ME);
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/notifications", Guard::Login, handlers::index)
        .post("/notifications/read-all", Guard::Login, handlers::read_all)
        .get("/notifications/{id}", Guard::Login, handlers::open)
        .post("/notifications/{id}/read", Guard::Login, handlers::read)
}
