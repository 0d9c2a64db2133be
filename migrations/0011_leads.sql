-- Leads (线索): prospects worked before they become customers (src/modules/leads). A lead is
-- converted into a new customer (or attached to an existing one); it then stays, read-only, linked
-- both ways: leads.customer_id → the customer, customers.lead_id → the lead it came from.

CREATE TABLE leads (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Company or person name.
  name             text NOT NULL CHECK (btrim(name) <> ''),
  contact_name     text,
  phone            text,
  mobile           text,
  email            text,
  address          text,
  source_id        bigint REFERENCES dict_items(id),
  industry_id      bigint REFERENCES dict_items(id),
  region_id        bigint REFERENCES dict_items(id),
  level            smallint NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 7),
  notes            text,
  owner_id         bigint REFERENCES users(id),
  last_followup_at timestamptz,
  next_contact_at  timestamptz,
  custom           jsonb NOT NULL DEFAULT '{}',
  -- Set once, by the conversion; a converted lead is read-only.
  converted_at     timestamptz,
  converted_by     bigint REFERENCES users(id),
  -- The customer the lead became, or was attached to.
  customer_id      bigint REFERENCES customers(id) ON DELETE SET NULL,
  -- everything the keyword search looks at, in one trigram-indexed column
  search           text GENERATED ALWAYS AS (
                     name || ' ' || coalesce(contact_name, '') || ' ' || coalesce(phone, '') || ' ' ||
                     coalesce(mobile, '') || ' ' || coalesce(email, '')) STORED,
  created_by       bigint REFERENCES users(id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  deleted_by       bigint REFERENCES users(id)
);
-- List pages: scoped by owner, newest change first; and unscoped (all) lists.
CREATE INDEX leads_owner_updated ON leads (owner_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX leads_updated ON leads (updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX leads_search ON leads USING gin (search gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX leads_deleted ON leads (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE INDEX leads_custom ON leads USING gin (custom jsonb_path_ops);
CREATE INDEX leads_customer ON leads (customer_id) WHERE customer_id IS NOT NULL;
CREATE TRIGGER leads_touch BEFORE UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- The lead a customer was converted from (the first one, when several were attached).
ALTER TABLE customers ADD COLUMN lead_id bigint REFERENCES leads(id) ON DELETE SET NULL;
