-- Contacts (联系人): people at a customer. Several per customer, at most one primary. A contact
-- follows its customer's owner unless it was transferred on its own (owner_locked).

CREATE TABLE contacts (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id      bigint NOT NULL REFERENCES customers(id),
  name             text NOT NULL CHECK (btrim(name) <> ''),
  salutation_id    bigint REFERENCES dict_items(id),
  gender           text CHECK (gender IN ('male', 'female')),
  position         text,
  department       text,
  phone            text,
  mobile           text,
  email            text,
  wechat           text,
  address          text,
  birthday         date,
  decision_maker   boolean NOT NULL DEFAULT false,
  is_primary       boolean NOT NULL DEFAULT false,
  notes            text,
  custom           jsonb NOT NULL DEFAULT '{}',
  owner_id         bigint REFERENCES users(id),
  -- Transferred on its own: keeps its owner when the customer changes hands.
  owner_locked     boolean NOT NULL DEFAULT false,
  last_followup_at timestamptz,
  next_contact_at  timestamptz,
  created_by       bigint REFERENCES users(id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  deleted_by       bigint REFERENCES users(id),
  -- everything the keyword search looks at, in one trigram-indexed column
  search           text GENERATED ALWAYS AS (
                     name || ' ' || coalesce(phone, '') || ' ' || coalesce(mobile, '') || ' ' ||
                     coalesce(email, '') || ' ' || coalesce(wechat, '')) STORED
);
-- One primary contact per customer among the live ones.
CREATE UNIQUE INDEX contacts_one_primary ON contacts (customer_id) WHERE is_primary AND deleted_at IS NULL;
-- List pages: scoped by owner, newest change first; and unscoped (all) lists.
CREATE INDEX contacts_owner_updated ON contacts (owner_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX contacts_updated ON contacts (updated_at DESC, id DESC) WHERE deleted_at IS NULL;
-- A customer's contacts (its Contacts tab; customers reached through team or shares).
CREATE INDEX contacts_customer ON contacts (customer_id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_search ON contacts USING gin (search gin_trgm_ops) WHERE deleted_at IS NULL;
-- The birthday-month filter.
CREATE INDEX contacts_birthday_month ON contacts ((EXTRACT(MONTH FROM birthday)))
  WHERE deleted_at IS NULL AND birthday IS NOT NULL;
CREATE INDEX contacts_deleted ON contacts (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE INDEX contacts_custom ON contacts USING gin (custom jsonb_path_ops);
CREATE TRIGGER contacts_touch BEFORE UPDATE ON contacts FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
