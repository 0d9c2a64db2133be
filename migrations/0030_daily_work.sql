-- Daily work's shared tables (issue 17). Tasks, schedule entries and work logs have their own
-- migrations (0031-0033); what they share is here.

-- Related records (相关记录) of a task, schedule entry or work log: any registered record kind with
-- a timeline (src/records/links.rs). A record's timeline finds its items by (entity, entity_id).
CREATE TABLE work_links (
    kind text NOT NULL CHECK (kind IN ('task', 'event', 'worklog')),
    item_id bigint NOT NULL,
    entity text NOT NULL,
    entity_id bigint NOT NULL,
    PRIMARY KEY (kind, item_id, entity, entity_id)
);
CREATE INDEX work_links_record ON work_links (entity, entity_id, kind, item_id);

-- The to-do centre's "customers due for contact" (and the top bar's count) ask for one owner's
-- customers whose next contact time has come.
CREATE INDEX customers_owner_next_contact ON customers (owner_id, next_contact_at)
  INCLUDE (last_followup_at) WHERE deleted_at IS NULL AND next_contact_at IS NOT NULL;
