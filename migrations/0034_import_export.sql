-- Excel import and export (src/imports, src/exports).

-- `export` now exists on every exportable list and `import` on products. Databases made before
-- got the catalog's defaults without them, so the seeded roles get them here as a fresh database
-- does from the permission catalog (ON CONFLICT keeps both).
INSERT INTO role_permissions (role_id, module, action)
SELECT r.id, g.module, g.action
  FROM roles r
  JOIN (VALUES ('director', 'products', 'import'), ('director', 'products', 'export'),
               ('director', 'opportunities', 'export'), ('director', 'contracts', 'export'),
               ('director', 'payments', 'export'), ('director', 'followups', 'export'),
               ('director', 'pool', 'export'),
               ('manager', 'products', 'export'), ('manager', 'opportunities', 'export'),
               ('manager', 'contracts', 'export'), ('manager', 'payments', 'export'),
               ('manager', 'followups', 'export'), ('manager', 'pool', 'export'))
       AS g(role, module, action) ON g.role = r.code
ON CONFLICT DO NOTHING;

-- A file as uploaded, kept until its batches have read it (a week at most): the workbook's
-- sheets are chosen and mapped after the upload, and a batch interrupted by a restart parses
-- its sheet again from here.
CREATE TABLE import_uploads (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users(id),
  source      text NOT NULL,
  file_name   text NOT NULL,
  bytes       bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- One run of an import over one sheet (导入批次).
CREATE TABLE import_batches (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source       text NOT NULL,
  user_id      bigint NOT NULL REFERENCES users(id),
  upload_id    bigint REFERENCES import_uploads(id) ON DELETE SET NULL,
  file_name    text NOT NULL,
  sheet        text NOT NULL DEFAULT '',
  -- The column → field mapping, the duplicate mode and the owner rule, as chosen.
  options      jsonb NOT NULL,
  -- queued → running (rows parsed into import_rows) → done | failed; done → undone.
  status       text NOT NULL DEFAULT 'queued'
               CHECK (status IN ('queued', 'running', 'done', 'failed', 'undone')),
  header       text[] NOT NULL DEFAULT '{}',
  total        integer NOT NULL DEFAULT 0,
  -- Rows settled, in row order: the next chunk starts after `done_row`.
  done         integer NOT NULL DEFAULT 0,
  done_row     integer NOT NULL DEFAULT 0,
  created      integer NOT NULL DEFAULT 0,
  updated      integer NOT NULL DEFAULT 0,
  skipped      integer NOT NULL DEFAULT 0,
  failed       integer NOT NULL DEFAULT 0,
  message      text,
  -- Merged into another batch for reporting: its records carry that batch from then on.
  merged_into  bigint REFERENCES import_batches(id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  undone_at    timestamptz,
  undone_by    bigint REFERENCES users(id)
);
CREATE INDEX import_batches_user ON import_batches (user_id, id DESC);
CREATE INDEX import_batches_open ON import_batches (id) WHERE status IN ('queued', 'running');

-- The sheet's rows as text (dates already ISO, numbers without exponent), with what became of
-- each: the error report is read from here.
CREATE TABLE import_rows (
  batch_id   bigint NOT NULL REFERENCES import_batches(id) ON DELETE CASCADE,
  row_no     integer NOT NULL,
  cells      text[] NOT NULL,
  outcome    text CHECK (outcome IN ('created', 'updated', 'skipped', 'failed')),
  record_id  bigint,
  message    text,
  PRIMARY KEY (batch_id, row_no)
);

-- The mapping a user chose last time, per import source: header text → field key.
CREATE TABLE import_mappings (
  user_id  bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  source   text NOT NULL,
  mapping  jsonb NOT NULL,
  PRIMARY KEY (user_id, source)
);

-- Records carry the batch that created them: a list filter, and what "undo" bins.
ALTER TABLE customers ADD COLUMN import_batch_id bigint REFERENCES import_batches(id);
ALTER TABLE contacts  ADD COLUMN import_batch_id bigint REFERENCES import_batches(id);
ALTER TABLE leads     ADD COLUMN import_batch_id bigint REFERENCES import_batches(id);
ALTER TABLE products  ADD COLUMN import_batch_id bigint REFERENCES import_batches(id);
CREATE INDEX customers_import_batch ON customers (import_batch_id) WHERE import_batch_id IS NOT NULL;
CREATE INDEX contacts_import_batch  ON contacts (import_batch_id)  WHERE import_batch_id IS NOT NULL;
CREATE INDEX leads_import_batch     ON leads (import_batch_id)     WHERE import_batch_id IS NOT NULL;
CREATE INDEX products_import_batch  ON products (import_batch_id)  WHERE import_batch_id IS NOT NULL;
