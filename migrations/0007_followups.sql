-- Follow-up records (跟进记录): what was done with a customer or contact (later leads,
-- opportunities, contracts), how, and when to get in touch next.

CREATE TABLE followups (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entity          text NOT NULL CHECK (entity IN ('customer', 'contact', 'lead', 'opportunity', 'contract')),
  entity_id       bigint NOT NULL,
  -- The customer it concerns, so a customer's timeline and the follow-up pages find it.
  customer_id     bigint REFERENCES customers(id) ON DELETE CASCADE,
  method_id       bigint REFERENCES dict_items(id),
  content         text NOT NULL CHECK (btrim(content) <> ''),
  next_contact_at timestamptz,
  -- Contacts taking part (ids of contacts of the customer).
  contact_ids     bigint[] NOT NULL DEFAULT '{}',
  created_by      bigint NOT NULL REFERENCES users(id),
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX followups_customer ON followups (customer_id, created_at DESC);
CREATE INDEX followups_entity ON followups (entity, entity_id, created_at DESC);
CREATE INDEX followups_author ON followups (created_by, created_at DESC);
CREATE INDEX followups_at ON followups (created_at DESC);
-- "Customers not followed up for N days" scans by owner and last follow-up.
CREATE INDEX customers_owner_followup ON customers (owner_id, last_followup_at) WHERE deleted_at IS NULL;
