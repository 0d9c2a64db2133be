-- Work logs (工作日志: 日报/周报/月报), issue 17. A log covers one period (a day, a Monday–Sunday
-- week or a calendar month) of its author (owner); its recipients (the author's superior and
-- colleagues chosen) see it besides the author's data scope. Related records are in work_links
-- (kind 'worklog', migration 0030).
CREATE TABLE worklogs (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('daily', 'weekly', 'monthly')),
  period_start date NOT NULL,
  period_end   date NOT NULL,
  -- 今日工作 / 本周工作 / 本月工作
  done         text NOT NULL,
  -- 明日 / 下周 / 下月计划
  plans        text NOT NULL DEFAULT '',
  -- 遇到的问题
  problems     text NOT NULL DEFAULT '',
  -- The author's numbers for the period as they stood when it was (last) submitted.
  stats        jsonb NOT NULL DEFAULT '{}',
  owner_id     bigint NOT NULL REFERENCES users(id),
  created_by   bigint NOT NULL REFERENCES users(id),
  submitted_at timestamptz NOT NULL DEFAULT now(),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz,
  deleted_by   bigint REFERENCES users(id),
  CHECK (period_end >= period_start)
);
-- One live log per author and period. On the author (created_by), not the owner: a leaving
-- user's logs handed over to a colleague must not collide with the colleague's own.
CREATE UNIQUE INDEX worklogs_one_per_period ON worklogs (created_by, kind, period_start) WHERE deleted_at IS NULL;
-- "Mine" and the owner-scoped team tab: newest period first.
CREATE INDEX worklogs_owner_period ON worklogs (owner_id, period_start DESC, id DESC) WHERE deleted_at IS NULL;
-- A scope of "all": newest period first over every log.
CREATE INDEX worklogs_period ON worklogs (period_start DESC, id DESC) INCLUDE (owner_id) WHERE deleted_at IS NULL;
-- Who has not submitted: the authors of one kind and period.
CREATE INDEX worklogs_kind_period ON worklogs (kind, period_start) INCLUDE (owner_id) WHERE deleted_at IS NULL;
CREATE INDEX worklogs_deleted ON worklogs (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE TRIGGER worklogs_touch BEFORE UPDATE ON worklogs FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER worklogs_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON worklogs
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('worklog');

-- Who a log was sent to, and when each opened it.
CREATE TABLE worklog_recipients (
  worklog_id bigint NOT NULL REFERENCES worklogs(id) ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  read_at    timestamptz,
  PRIMARY KEY (worklog_id, user_id)
);
-- "Sent to me" and its unread count (the to-do centre asks on every page of it).
CREATE INDEX worklog_recipients_user ON worklog_recipients (user_id, worklog_id);
CREATE INDEX worklog_recipients_unread ON worklog_recipients (user_id, worklog_id) WHERE read_at IS NULL;

-- Comments (点评) under a log.
CREATE TABLE worklog_comments (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  worklog_id bigint NOT NULL REFERENCES worklogs(id) ON DELETE CASCADE,
  author_id  bigint NOT NULL REFERENCES users(id),
  body       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX worklog_comments_log ON worklog_comments (worklog_id, id);
