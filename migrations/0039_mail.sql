-- Mail (issue 19): SMTP accounts tried in order (primary, then fallbacks), the outbox every mail
-- is written to first (in the transaction of the change that caused it), and each user's choice
-- of which notifications also come by mail.

CREATE TABLE mail_accounts (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- 1 = primary; the others are tried in this order when the one before refuses or is down.
  position      int NOT NULL,
  host          text NOT NULL CHECK (btrim(host) <> ''),
  port          int NOT NULL CHECK (port BETWEEN 1 AND 65535),
  security      text NOT NULL CHECK (security IN ('starttls', 'tls', 'none')),
  username      text NOT NULL DEFAULT '',
  -- 'v1:' + base64(nonce || ChaCha20-Poly1305 ciphertext) under a key derived from
  -- CRM_SECRET_KEY; NULL: no password (no AUTH). A password is never stored in clear.
  password_enc  text,
  from_address  text NOT NULL CHECK (btrim(from_address) <> ''),
  from_name     text NOT NULL DEFAULT '',
  reply_to      text NOT NULL DEFAULT '',
  updated_by    bigint REFERENCES users(id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX mail_accounts_position_key ON mail_accounts (position);

CREATE TABLE mail_outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- 'notification' (system mail to a user), 'test' (the settings page's test mail).
  kind            text NOT NULL,
  -- The user the mail is for, when it is one (notifications).
  user_id         bigint REFERENCES users(id),
  -- Who caused it (NULL: the system).
  created_by      bigint REFERENCES users(id),
  to_address      text NOT NULL,
  to_name         text NOT NULL DEFAULT '',
  subject         text NOT NULL,
  body_text       text NOT NULL,
  -- A page of the app the mail points to (a path; made absolute with CRM_PUBLIC_URL).
  link            text,
  status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
  attempts        int NOT NULL DEFAULT 0,
  -- Queued: not before this. Sending: the claim's lease; past it, a dead sender's row is taken
  -- up again by another runner.
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- The last failure (SMTP reply or connection error), or the accepting server's reply.
  last_error      text,
  server_reply    text,
  -- The account (host) that accepted it.
  sent_via        text,
  sent_at         timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX mail_outbox_recent ON mail_outbox (created_at DESC, id DESC);
CREATE INDEX mail_outbox_status ON mail_outbox (status, created_at DESC);

-- A user's choice per topic ('approvals', 'reminders', 'transfers', 'mentions'); no row: the
-- topic's default (approvals and reminders on, the others off).
CREATE TABLE mail_prefs (
  user_id  bigint NOT NULL REFERENCES users(id),
  topic    text NOT NULL,
  enabled  boolean NOT NULL,
  PRIMARY KEY (user_id, topic)
);
