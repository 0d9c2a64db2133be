//! The approvals inbox (审批): waiting for me, submitted by me, decided by me; an approval's page
//! with its progress, and the approve / reject / withdraw / resubmit actions. Any logged-in user
//! reaches the pages; who may see or act on an instance is decided per instance (the submitter
//! and owner, its approvers, super admins), everyone else gets a 404 (seeing) or 403 (deciding).

mod handlers;
mod repo;

use crate::access::{Guard, Routes};

pub fn routes() -> Routes {
    Routes::new()
        .get("/approvals", Guard::Login, handlers::index)
        .get("/approvals/{id}", Guard::Login, handlers::show)
        .post("/approvals/{id}/approve", Guard::Login, handlers::approve)
        .post("/approvals/{id}/reject", Guard::Login, handlers::reject)
        .post("/approvals/{id}/withdraw", Guard::Login, handlers::withdraw)
        .post("/approvals/{id}/resubmit", Guard::Login, handlers::resubmit)
}
