-- Notification centre, reminders and the record of periodic job runs.

-- One row per message in a user's inbox. The text is not stored: `kind` names the catalog entry
-- `notify.<kind>` and `params` fills its {placeholders} in the reader's language when shown.
CREATE TABLE notifications (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind       text NOT NULL CHECK (btrim(kind) <> ''),
  params     jsonb NOT NULL DEFAULT '{}'::jsonb,
  link       text,
  actor_id   bigint REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  read_at    timestamptz
);
-- A user's inbox, newest first.
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);
-- The bell's unread count and the "unread" tab.
CREATE INDEX notifications_unread ON notifications (user_id, created_at DESC) WHERE read_at IS NULL;

-- A notification waiting for its time; the deliver_reminders job turns it into a notification.
CREATE TABLE reminders (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  due_at       timestamptz NOT NULL,
  kind         text NOT NULL CHECK (btrim(kind) <> ''),
  params       jsonb NOT NULL DEFAULT '{}'::jsonb,
  link         text,
  created_by   bigint REFERENCES users(id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX reminders_due ON reminders (due_at) WHERE delivered_at IS NULL;
CREATE INDEX reminders_user ON reminders (user_id);

-- The last run of each periodic job (see src/jobs).
CREATE TABLE job_runs (
  name             text PRIMARY KEY,
  last_started_at  timestamptz,
  last_finished_at timestamptz,
  last_ok          bool,
  last_message     text
);
