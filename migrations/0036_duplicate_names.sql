-- Duplicate checks that hold (issue 21, items 2-4).
--
-- 1. Name keys are computed in Rust only (`records::normalize::name`: NFKC, invisible and bidi
--    characters, punctuation and brackets dropped, traditional → simplified Chinese, confusable
--    skeletons). A migration cannot call Rust, so this one marks the stored keys stale (it
--    removes the version they were computed with from app_meta) and `db::migrate` — run by
--    `crm migrate`, `crm serve` and the tests' template — recomputes them right after the
--    migrations (`normalize::rekey`), before anything is served. Until then a stale key is only
--    looser than it should be, never wrong for a write (every write recomputes its own key).
-- 2. Contacts and leads get duplicate rules like customers: one table of rules for the three
--    kinds (it replaces customer_dup_rules), leads a stored name key, and both the phone / mobile
--    digits and e-mail indexes the checks look up.

CREATE TABLE dup_rules (
  entity  text NOT NULL CHECK (entity IN ('customer', 'contact', 'lead')),
  field   text NOT NULL CHECK (field IN ('name', 'phone', 'mobile', 'email')),
  enabled boolean NOT NULL DEFAULT false,
  scope   text NOT NULL DEFAULT 'company' CHECK (scope IN ('company', 'dept')),
  effect  text NOT NULL DEFAULT 'warn' CHECK (effect IN ('warn', 'block')),
  PRIMARY KEY (entity, field),
  -- A contact's name is not unique enough to check (two 王先生 at two customers).
  CHECK (entity <> 'contact' OR field <> 'name')
);
INSERT INTO dup_rules (entity, field, enabled, scope, effect)
SELECT 'customer', field, enabled, scope, effect FROM customer_dup_rules;
-- New kinds start with warnings on the personal numbers and the lead's company name, which never
-- refuse a save (the user confirms); the admin makes them block or turns them off.
INSERT INTO dup_rules (entity, field, enabled, scope, effect) VALUES
  ('contact', 'mobile', true,  'company', 'warn'),
  ('contact', 'phone',  false, 'company', 'warn'),
  ('contact', 'email',  false, 'company', 'warn'),
  ('lead',    'name',   true,  'company', 'warn'),
  ('lead',    'phone',  false, 'company', 'warn'),
  ('lead',    'mobile', true,  'company', 'warn'),
  ('lead',    'email',  false, 'company', 'warn')
ON CONFLICT DO NOTHING;
DROP TABLE customer_dup_rules;

-- Leads: the name key (filled by normalize::rekey, then by every insert and update) and the
-- digits of the numbers, as customers have them.
ALTER TABLE leads
  ADD COLUMN name_norm text,
  ADD COLUMN phone_norm text GENERATED ALWAYS AS (nullif(regexp_replace(coalesce(phone, ''), '[^0-9+]', '', 'g'), '')) STORED,
  ADD COLUMN mobile_norm text GENERATED ALWAYS AS (nullif(regexp_replace(coalesce(mobile, ''), '[^0-9+]', '', 'g'), '')) STORED;
CREATE INDEX leads_name_norm ON leads (name_norm) WHERE deleted_at IS NULL;
CREATE INDEX leads_phone_norm ON leads (phone_norm) WHERE deleted_at IS NULL AND phone_norm IS NOT NULL;
CREATE INDEX leads_mobile_norm ON leads (mobile_norm) WHERE deleted_at IS NULL AND mobile_norm IS NOT NULL;
CREATE INDEX leads_email_lower ON leads (lower(email)) WHERE deleted_at IS NULL AND email IS NOT NULL;

ALTER TABLE contacts
  ADD COLUMN phone_norm text GENERATED ALWAYS AS (nullif(regexp_replace(coalesce(phone, ''), '[^0-9+]', '', 'g'), '')) STORED,
  ADD COLUMN mobile_norm text GENERATED ALWAYS AS (nullif(regexp_replace(coalesce(mobile, ''), '[^0-9+]', '', 'g'), '')) STORED;
CREATE INDEX contacts_phone_norm ON contacts (phone_norm) WHERE deleted_at IS NULL AND phone_norm IS NOT NULL;
CREATE INDEX contacts_mobile_norm ON contacts (mobile_norm) WHERE deleted_at IS NULL AND mobile_norm IS NOT NULL;
CREATE INDEX contacts_email_lower ON contacts (lower(email)) WHERE deleted_at IS NULL AND email IS NOT NULL;

-- Re-keying rewrites name_norm only: it must not make every record look just edited.
DROP TRIGGER customers_touch ON customers;
CREATE TRIGGER customers_touch BEFORE UPDATE ON customers FOR EACH ROW
  WHEN (current_setting('crm.rekeying', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION touch_updated_at();
DROP TRIGGER leads_touch ON leads;
CREATE TRIGGER leads_touch BEFORE UPDATE ON leads FOR EACH ROW
  WHEN (current_setting('crm.rekeying', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION touch_updated_at();

-- The stored keys were computed by the old normaliser: recompute them (see 1. above).
DELETE FROM app_meta WHERE key = 'name_key_version';
