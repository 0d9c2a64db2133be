-- Approval engine (src/workflow): flows with ordered steps per subject, instances and their tasks.

-- A flow per subject; at most one of a subject's flows is enabled (submissions use it).
CREATE TABLE approval_flows (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject       text NOT NULL CHECK (subject IN ('customer_status', 'contract', 'payment')),
  name          text NOT NULL CHECK (btrim(name) <> ''),
  enabled       boolean NOT NULL DEFAULT false,
  -- After a rejection, a resubmission starts again from the first step or from the rejected one.
  resubmit_from text NOT NULL DEFAULT 'first' CHECK (resubmit_from IN ('first', 'rejected_step')),
  created_by    bigint REFERENCES users(id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX approval_flows_one_enabled ON approval_flows (subject) WHERE enabled;
CREATE INDEX approval_flows_subject ON approval_flows (subject, id);
CREATE TRIGGER approval_flows_touch BEFORE UPDATE ON approval_flows FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- The steps of a flow, in `seq` order. Who approves:
--   users            the named users (user_ids)
--   role             active holders of role_id
--   superior         the owner's (else the submitter's) superior at `level` (1 = direct superior)
--   superiors_up_to  the superiors at levels 1..`level`, one after the other
--   submitter_picks  users the submitter picks, from user_ids and/or holders of role_id
-- mode: any (或签, the first decision counts) or all (会签, everyone must approve).
-- condition (optional): {"amount_gt": "100000"} and/or {"dept_ids": [..]} (submitter's department
-- or below); the step applies only when every given condition holds.
CREATE TABLE approval_steps (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  flow_id   bigint NOT NULL REFERENCES approval_flows(id) ON DELETE CASCADE,
  seq       int NOT NULL CHECK (seq > 0),
  kind      text NOT NULL CHECK (kind IN ('users', 'role', 'superior', 'superiors_up_to', 'submitter_picks')),
  mode      text NOT NULL DEFAULT 'any' CHECK (mode IN ('any', 'all')),
  user_ids  bigint[] NOT NULL DEFAULT '{}',
  role_id   bigint REFERENCES roles(id) ON DELETE SET NULL,
  level     int NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 20),
  condition jsonb,
  name      text NOT NULL DEFAULT '',
  -- Deferred to the end of each statement, so two steps can swap places in one UPDATE.
  CONSTRAINT approval_steps_seq UNIQUE (flow_id, seq) DEFERRABLE INITIALLY IMMEDIATE
);

-- One approval of one record. `plan` is the flow's applicable steps as they were at submission
-- (conditions evaluated, consecutive superiors expanded, approvers resolved); `current_step` is the
-- 1-based stage of the plan being decided. `round` counts submissions (resubmits add one).
CREATE TABLE approval_instances (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject       text NOT NULL,
  record_id     bigint NOT NULL,
  flow_id       bigint REFERENCES approval_flows(id) ON DELETE SET NULL,
  flow_name     text NOT NULL DEFAULT '',
  status        text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
  current_step  int NOT NULL DEFAULT 0,
  round         int NOT NULL DEFAULT 1,
  resubmit_from text NOT NULL DEFAULT 'first' CHECK (resubmit_from IN ('first', 'rejected_step')),
  plan          jsonb NOT NULL DEFAULT '[]',
  submitted_by  bigint NOT NULL REFERENCES users(id),
  -- Whose superior chain "superior" steps follow (the record's owner; else the submitter).
  owner_id      bigint REFERENCES users(id),
  payload       jsonb NOT NULL DEFAULT '{}',
  submitted_at  timestamptz NOT NULL DEFAULT now(),
  decided_at    timestamptz
);
-- A record has at most one pending approval per subject.
CREATE UNIQUE INDEX approval_instances_one_pending ON approval_instances (subject, record_id) WHERE status = 'pending';
CREATE INDEX approval_instances_record ON approval_instances (subject, record_id, id DESC);
CREATE INDEX approval_instances_submitter ON approval_instances (submitted_by, submitted_at DESC);
CREATE INDEX approval_instances_owner ON approval_instances (owner_id) WHERE owner_id IS NOT NULL;

-- One approver's part in a stage of an instance.
CREATE TABLE approval_tasks (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  instance_id bigint NOT NULL REFERENCES approval_instances(id) ON DELETE CASCADE,
  -- The stage of the instance's plan (1-based) and the flow step it came from.
  stage       int NOT NULL,
  step_seq    int NOT NULL,
  round       int NOT NULL DEFAULT 1,
  approver_id bigint NOT NULL REFERENCES users(id),
  status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'skipped', 'cancelled')),
  comment     text NOT NULL DEFAULT '',
  -- Set when the stage fell back to the super admins (no approver found).
  fallback    boolean NOT NULL DEFAULT false,
  decided_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX approval_tasks_instance ON approval_tasks (instance_id, stage, id);
-- "Waiting for me" and "decided by me".
CREATE INDEX approval_tasks_pending ON approval_tasks (approver_id, created_at DESC) WHERE status = 'pending';
CREATE INDEX approval_tasks_decided ON approval_tasks (approver_id, decided_at DESC) WHERE status IN ('approved', 'rejected');

-- Seeded flows: customer status upgrades go to the owner's direct superior; contract and payment
-- flows exist (disabled) so admins can shape them before those modules land.
WITH f AS (
  INSERT INTO approval_flows (subject, name, enabled, resubmit_from)
  VALUES ('customer_status', '客户状态升级', true, 'first') RETURNING id)
INSERT INTO approval_steps (flow_id, seq, kind, mode, level) SELECT id, 1, 'superior', 'any', 1 FROM f;
WITH f AS (
  INSERT INTO approval_flows (subject, name, enabled, resubmit_from)
  VALUES ('contract', '合同审批', false, 'first') RETURNING id)
INSERT INTO approval_steps (flow_id, seq, kind, mode, level) SELECT id, 1, 'superior', 'any', 1 FROM f;
WITH f AS (
  INSERT INTO approval_flows (subject, name, enabled, resubmit_from)
  VALUES ('payment', '回款审批', false, 'first') RETURNING id)
INSERT INTO approval_steps (flow_id, seq, kind, mode, level) SELECT id, 1, 'superior', 'any', 1 FROM f;
