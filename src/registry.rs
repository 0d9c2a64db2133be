//! The registry: what the feature modules plug into the kernel — their record kinds, approval
//! subjects, periodic jobs, timeline sources, to-do sources and exportable lists. `src/app.rs`
//! fills it once at assembly (`app::install`); the kernel reads it (`registry::get()`) and so
//! never names a module.
//!
//! It is process-wide because the approval engine and the jobs run where no `AppState` is at
//! hand (inside a transaction, in the job loop); it holds code constants only, so every app
//! built in one process (the tests build many) installs the same one.

use std::sync::OnceLock;

use crate::jobs::Job;
use crate::records::RecordDef;
use crate::workflow::{Subject, SubjectDef};

#[derive(Default)]
pub struct Registry {
    records: Vec<&'static RecordDef>,
    subjects: Vec<&'static dyn SubjectDef>,
    jobs: Vec<Job>,
    timeline_sources: Vec<crate::timeline::Source>,
    todo_sources: Vec<crate::todo::Source>,
    imports: Vec<&'static crate::imports::Source>,
    exports: Vec<crate::exports::Source>,
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// Install the registry `build` makes, once per process; later calls keep the first.
pub fn install(build: impl FnOnce() -> Registry) -> &'static Registry {
    REGISTRY.get_or_init(build)
}

/// The installed registry.
pub fn get() -> &'static Registry {
    REGISTRY.get().expect("the registry is installed at assembly (crm::app::install) before use")
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// A record kind. Entity codes and paths are unique.
    pub fn record(&mut self, def: &'static RecordDef) -> &mut Self {
        assert!(
            self.records.iter().all(|r| r.entity != def.entity && r.path != def.path),
            "record kind {} registered twice",
            def.entity
        );
        self.records.push(def);
        self
    }

    pub fn subject(&mut self, def: &'static dyn SubjectDef) -> &mut Self {
        assert!(self.subjects.iter().all(|s| s.code() != def.code()), "subject {} registered twice", def.code());
        self.subjects.push(def);
        self
    }

    pub fn job(&mut self, job: Job) -> &mut Self {
        assert!(self.jobs.iter().all(|j| j.name != job.name), "job {} registered twice", job.name);
        self.jobs.push(job);
        self
    }

    /// Every record kind, in registration order.
    pub fn records(&self) -> impl Iterator<Item = &'static RecordDef> + '_ {
        self.records.iter().copied()
    }

    /// The record kind of an entity code.
    pub fn record_of(&self, entity: &str) -> Option<&'static RecordDef> {
        self.records().find(|r| r.entity == entity)
    }

    /// Record kinds hanging under `parent` (contacts under customers).
    pub fn children_of<'a>(&'a self, parent: &'a str) -> impl Iterator<Item = &'static RecordDef> + 'a {
        self.records().filter(move |r| r.parent.as_ref().is_some_and(|p| p.entity == parent))
    }

    pub fn subjects(&self) -> impl Iterator<Item = Subject> + '_ {
        self.subjects.iter().map(|s| Subject(*s))
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Entries a module adds to record timelines (tasks, schedule entries, work logs).
    pub fn timeline_source(&mut self, source: crate::timeline::Source) -> &mut Self {
        assert!(self.timeline_sources.iter().all(|s| s.code != source.code), "timeline source {} twice", source.code);
        self.timeline_sources.push(source);
        self
    }

    pub fn timeline_sources(&self) -> &[crate::timeline::Source] {
        &self.timeline_sources
    }

    /// A section of the to-do centre, in the order the page shows them.
    pub fn todo_source(&mut self, source: crate::todo::Source) -> &mut Self {
        assert!(self.todo_sources.iter().all(|s| s.code != source.code), "to-do source {} twice", source.code);
        self.todo_sources.push(source);
        self
    }

    pub fn todo_sources(&self) -> &[crate::todo::Source] {
        &self.todo_sources
    }

    /// A kind of record that can be imported from spreadsheets.
    pub fn import(&mut self, source: &'static crate::imports::Source) -> &mut Self {
        assert!(self.imports.iter().all(|s| s.code() != source.code()), "import source {} twice", source.code());
        self.imports.push(source);
        self
    }

    pub fn imports(&self) -> &[&'static crate::imports::Source] {
        &self.imports
    }

    /// A list that can be exported (`crate::exports`): codes are unique.
    pub fn export(&mut self, source: crate::exports::Source) -> &mut Self {
        assert!(self.exports.iter().all(|s| s.code != source.code), "export source {} twice", source.code);
        self.exports.push(source);
        self
    }

    pub fn exports(&self) -> &[crate::exports::Source] {
        &self.exports
    }
}
