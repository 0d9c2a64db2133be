//! The approvals inbox (审批): waiting for me, submitted by me, decided by me; an approval's page
//! with its progress, and the approve / reject / withdraw / resubmit actions. Any logged-in user
//! reaches the pages; who may see or act on an instance is decided per instance. Its page is seen
//! by the submitter and owner, its approvers, super admins, and — read-only — whoever can see the
//! record it is about (`Subject::can_view_record`); everyone else gets a 404. Only an assigned
//! approver holding `approve` on the subject's module decides, and only the submitter side
//! withdraws, resubmits or picks the approvers of a submitter-picks stage waiting for them;
//! anyone else gets a 403.

mod handlers;
mod repo;
mod todo;

use crate::access::{Guard, Routes};
use crate::registry::Registry;

/// The inbox's to-do sections.
pub fn register(r: &mut Registry) {
    r.todo_source(todo::WAITING).todo_source(todo::RETURNED);
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/approvals", Guard::Login, handlers::index)
        .get("/approvals/{id}", Guard::Login, handlers::show)
        .post("/approvals/{id}/approve", Guard::Login, handlers::approve)
        .post("/approvals/{id}/reject", Guard::Login, handlers::reject)
        .post("/approvals/{id}/withdraw", Guard::Login, handlers::withdraw)
        .post("/approvals/{id}/resubmit", Guard::Login, handlers::resubmit)
        .post("/approvals/{id}/pick", Guard::Login, handlers::pick)
}
