//! The routes every record kind gets from the kernel, by its features: list scenes and columns,
//! stars, recycle bin and delete, and — where the kind takes part — follow-ups, attachments,
//! team and sharing, transfer. A module merges `routes::<R>()` beside its own pages.

use super::def::{Record, RecordDef};
use super::{bin, team, transfer};
use crate::access::{Action, Guard, Routes};

/// `<path><suffix>` as a route path. Routes want `&'static str`; these are built once per kind
/// at start-up, so leaking them is the simple way to meet that.
pub fn at(def: &'static RecordDef, suffix: &str) -> &'static str {
    Box::leak(format!("{}{suffix}", def.path).into_boxed_str())
}

pub fn routes<R: Record>() -> Routes {
    let def = R::DEF;
    let guard = |action| Guard::Perm(def.module, action);
    let mut routes = Routes::new()
        .merge(crate::list::prefs::routes::<R>())
        .merge(super::stars::routes::<R>())
        .get(at(def, "/recycle"), guard(Action::View), bin::page::<R>)
        .post(at(def, "/recycle/restore"), guard(Action::Delete), bin::restore_selected::<R>)
        .post(at(def, "/recycle/purge"), guard(Action::Purge), bin::purge_selected::<R>)
        .post(at(def, "/bulk/delete"), guard(Action::Delete), bin::bulk_delete::<R>)
        .post(at(def, "/{id}/delete"), guard(Action::Delete), bin::delete_one::<R>);
    let f = def.features;
    if f.timeline {
        // Its records can be related to tasks, schedule entries and logs: their pickers ask here.
        routes = routes.merge(crate::timeline::routes::<R>()).get(
            at(def, "/pick"),
            guard(Action::View),
            super::links::pick::<R>,
        );
    }
    if f.attachments {
        routes = routes.merge(crate::attachments::routes::<R>());
    }
    if f.transfer {
        routes = routes
            .get(at(def, "/{id}/transfer"), guard(Action::Transfer), transfer::page::<R>)
            .post(at(def, "/{id}/transfer"), guard(Action::Transfer), transfer::submit::<R>)
            .post(at(def, "/bulk/transfer"), guard(Action::Transfer), transfer::bulk::<R>);
    }
    if f.team {
        routes = routes
            .post(at(def, "/{id}/team"), guard(Action::Edit), team::add_member::<R>)
            .post(at(def, "/{id}/team/{user_id}/remove"), guard(Action::Edit), team::remove_member::<R>)
            .post(at(def, "/bulk/team"), guard(Action::Edit), team::bulk_team::<R>);
    }
    if f.share {
        routes = routes
            .post(at(def, "/{id}/shares"), guard(Action::Edit), team::share::<R>)
            .post(at(def, "/{id}/shares/{share_id}/revoke"), guard(Action::Edit), team::revoke_share::<R>)
            .post(at(def, "/bulk/share"), guard(Action::Edit), team::bulk_share::<R>);
    }
    routes
}
