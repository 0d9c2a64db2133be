-- The forecast and the stalled list read open opportunities of the owners in scope: with the
-- stage group in the index too, they are answered from the index alone (no row visits).
DROP INDEX opportunities_open_owner;
CREATE INDEX opportunities_open_owner ON opportunities (owner_id, expected_close)
  INCLUDE (id, group_id, stage_id, amount, stage_changed_at, last_followup_at) WHERE deleted_at IS NULL AND status = 'open';
