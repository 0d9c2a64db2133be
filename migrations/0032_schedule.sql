-- Schedule (日程): events with an owner (whose schedule it is), participants who see them too,
-- optional reminders and simple repeat rules, and private calendar feeds (ICS).

CREATE TABLE events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title          text NOT NULL CHECK (btrim(title) <> ''),
  starts_at      timestamptz NOT NULL,
  -- Timed events: the end. All-day events: midnight (configured zone) after the last day, so
  -- every event is the half-open range [starts_at, ends_at).
  ends_at        timestamptz NOT NULL,
  all_day        boolean NOT NULL DEFAULT false,
  location       text,
  notes          text,
  owner_id       bigint REFERENCES users(id),
  created_by     bigint REFERENCES users(id),
  remind_minutes int CHECK (remind_minutes BETWEEN 0 AND 10080),
  repeat         text NOT NULL DEFAULT 'none' CHECK (repeat IN ('none', 'daily', 'weekly', 'monthly')),
  -- The last day (configured zone) an occurrence may start on; NULL: for ever.
  repeat_until   date,
  -- The due time of the event's pending reminder: once it is due, the job `event_reminders`
  -- plans the next occurrence's, if any (src/modules/schedule/remind.rs).
  next_remind_at timestamptz,
  custom         jsonb NOT NULL DEFAULT '{}',
  deleted_at     timestamptz,
  deleted_by     bigint REFERENCES users(id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  -- The month view finds events starting up to 31 days before its first day.
  CHECK (ends_at >= starts_at AND ends_at <= starts_at + interval '31 days')
);
-- A month or week of one person's events (500,000 events at scale 1).
CREATE INDEX events_owner_start ON events (owner_id, starts_at) WHERE deleted_at IS NULL;
-- Repeating events may start long before the range shown: found per owner.
CREATE INDEX events_owner_repeating ON events (owner_id) WHERE repeat <> 'none' AND deleted_at IS NULL;
-- The reminder job's queue.
CREATE INDEX events_next_remind ON events (next_remind_at) WHERE next_remind_at IS NOT NULL AND deleted_at IS NULL;
CREATE TRIGGER events_touch BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER events_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON events
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('event');

CREATE TABLE event_participants (
  event_id bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  user_id  bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_participants_user ON event_participants (user_id, event_id);

-- A user's private calendar subscription: only the SHA-256 of the token is kept, so the URL
-- cannot be read back from the database; re-creating it replaces the row (the old URL dies).
CREATE TABLE calendar_feeds (
  user_id    bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
