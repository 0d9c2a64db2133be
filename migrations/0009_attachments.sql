-- Attachments (附件): files uploaded to records of any entity (customer, contact, lead, ...),
-- stored in Postgres. `data` is only read by the download; lists select the other columns.

CREATE TABLE attachments (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entity       text NOT NULL,
  record_id    bigint NOT NULL,
  name         text NOT NULL CHECK (btrim(name) <> ''),
  content_type text NOT NULL DEFAULT 'application/octet-stream',
  size         bigint NOT NULL CHECK (size >= 0),
  sha256       text NOT NULL,
  data         bytea NOT NULL,
  uploaded_by  bigint NOT NULL REFERENCES users(id),
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Already-compressed files gain nothing from TOAST compression; store them as they are.
ALTER TABLE attachments ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE INDEX attachments_record ON attachments (entity, record_id, created_at DESC);
