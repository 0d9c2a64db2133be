-- Bidi formatting characters (U+202A–U+202E, U+2066–U+2069, LRM, RLM, ALM) are dropped from
-- one-line text as it is typed (src/web/input.rs) and imported (src/imports/read.rs): they can
-- make a name or a file name read backwards ("invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf").
-- Names and file names stored before that are cleaned the same way, once. Each WHERE finds only
-- the rows that hold one, so a clean database rewrites nothing.
DO $$
DECLARE
  bidi CONSTANT text := E'[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]';
  target record;
BEGIN
  FOR target IN
    SELECT * FROM (VALUES
      ('customers', 'name'), ('customers', 'short_name'), ('contacts', 'name'), ('leads', 'name'),
      ('leads', 'contact_name'), ('products', 'name'), ('opportunities', 'name'), ('contracts', 'name'),
      ('tasks', 'title'), ('events', 'title'), ('attachments', 'name')
    ) AS t(tbl, col)
  LOOP
    EXECUTE format('UPDATE %I SET %I = regexp_replace(%I, $1, '''', ''g'') WHERE %I ~ $1',
                   target.tbl, target.col, target.col, target.col)
      USING bidi;
  END LOOP;
END $$;
