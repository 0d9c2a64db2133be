-- Daily sending quota (seed 003): 400 mails a user may send a day by default, settable per role
-- (a user with several roles gets the largest) or per user (wins over the roles). Days are those
-- of CRM_TIMEZONE. Counted from the outbox: the mails a user caused (created_by) that are not
-- system mail (kind 'notification').

CREATE TABLE mail_quotas (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  role_id     bigint UNIQUE REFERENCES roles(id) ON DELETE CASCADE,
  user_id     bigint UNIQUE REFERENCES users(id),
  daily_limit int NOT NULL CHECK (daily_limit BETWEEN 0 AND 1000000),
  CHECK ((role_id IS NULL) <> (user_id IS NULL))
);

CREATE INDEX mail_outbox_sender_day ON mail_outbox (created_by, created_at) WHERE kind <> 'notification';
