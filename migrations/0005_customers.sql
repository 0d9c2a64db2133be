-- Customers: records, addresses, stars, saved list scenes and column choices, duplicate rules,
-- ownership caps.

CREATE TABLE customers (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code             text NOT NULL,
  name             text NOT NULL CHECK (btrim(name) <> ''),
  -- name trimmed, full-width folded to half-width, lower case, without spaces (duplicate checks)
  name_norm        text NOT NULL,
  short_name       text,
  kind             text NOT NULL DEFAULT 'enterprise' CHECK (kind IN ('enterprise', 'individual')),
  parent_id        bigint REFERENCES customers(id),
  category_id      bigint REFERENCES dict_items(id),
  status_id        bigint NOT NULL REFERENCES dict_items(id),
  level            smallint NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 7),
  source_id        bigint REFERENCES dict_items(id),
  industry_id      bigint REFERENCES dict_items(id),
  region_id        bigint REFERENCES dict_items(id),
  size_id          bigint REFERENCES dict_items(id),
  value_rating_id  bigint REFERENCES dict_items(id),
  credit_level_id  bigint REFERENCES dict_items(id),
  importance_id    bigint REFERENCES dict_items(id),
  relationship_id  bigint REFERENCES dict_items(id),
  stage_id         bigint REFERENCES dict_items(id),
  group_id         bigint REFERENCES dict_items(id),
  phone            text,
  mobile           text,
  fax              text,
  email            text,
  website          text,
  description      text,
  -- individuals
  birth_date       date,
  id_number        text,
  native_place     text,
  ethnicity        text,
  gender           text CHECK (gender IN ('male', 'female')),
  -- NULL while the customer sits in the public pool
  owner_id         bigint REFERENCES users(id),
  locked           boolean NOT NULL DEFAULT false,
  frozen           boolean NOT NULL DEFAULT false,
  deal_status      text NOT NULL DEFAULT 'none' CHECK (deal_status IN ('none', 'dealt')),
  last_followup_at timestamptz,
  next_contact_at  timestamptz,
  import_batch     bigint,
  custom           jsonb NOT NULL DEFAULT '{}',
  -- phone numbers with only their digits (and +), for duplicate checks
  phone_norm       text GENERATED ALWAYS AS (nullif(regexp_replace(coalesce(phone, ''), '[^0-9+]', '', 'g'), '')) STORED,
  mobile_norm      text GENERATED ALWAYS AS (nullif(regexp_replace(coalesce(mobile, ''), '[^0-9+]', '', 'g'), '')) STORED,
  -- everything the keyword search looks at, in one trigram-indexed column
  search           text GENERATED ALWAYS AS (
                     name || ' ' || coalesce(short_name, '') || ' ' || code || ' ' || coalesce(phone, '') || ' ' ||
                     coalesce(mobile, '') || ' ' || coalesce(email, '')) STORED,
  created_by       bigint REFERENCES users(id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  deleted_by       bigint REFERENCES users(id),
  CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE UNIQUE INDEX customers_code ON customers (code);
-- List pages: scoped by owner, newest change first; and unscoped (all) lists.
CREATE INDEX customers_owner_updated ON customers (owner_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX customers_updated ON customers (updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX customers_search ON customers USING gin (search gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX customers_name_norm ON customers (name_norm) WHERE deleted_at IS NULL;
CREATE INDEX customers_phone ON customers (phone text_pattern_ops) WHERE deleted_at IS NULL AND phone IS NOT NULL;
CREATE INDEX customers_mobile ON customers (mobile text_pattern_ops) WHERE deleted_at IS NULL AND mobile IS NOT NULL;
CREATE INDEX customers_email ON customers (lower(email)) WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE INDEX customers_phone_norm ON customers (phone_norm) WHERE deleted_at IS NULL AND phone_norm IS NOT NULL;
CREATE INDEX customers_mobile_norm ON customers (mobile_norm) WHERE deleted_at IS NULL AND mobile_norm IS NOT NULL;
CREATE INDEX customers_parent ON customers (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX customers_status ON customers (status_id, region_id) WHERE deleted_at IS NULL;
CREATE INDEX customers_deleted ON customers (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE INDEX customers_custom ON customers USING gin (custom jsonb_path_ops);
CREATE TRIGGER customers_touch BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE customer_addresses (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  type_id     bigint REFERENCES dict_items(id),
  region_id   bigint REFERENCES dict_items(id),
  detail      text NOT NULL DEFAULT '',
  postcode    text,
  position    int NOT NULL DEFAULT 0
);
CREATE INDEX customer_addresses_customer ON customer_addresses (customer_id, position);

-- 关注: each user's starred records (any entity).
CREATE TABLE stars (
  user_id    bigint NOT NULL REFERENCES users(id),
  entity     text NOT NULL,
  record_id  bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, entity, record_id)
);

-- Saved filters ("scenes") of the list pages, per user and module.
CREATE TABLE list_scenes (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users(id),
  module     text NOT NULL,
  name       text NOT NULL CHECK (btrim(name) <> ''),
  query      text NOT NULL,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, module, name)
);
CREATE UNIQUE INDEX list_scenes_one_default ON list_scenes (user_id, module) WHERE is_default;

-- A user's default system scene (when no saved scene is the default).
CREATE TABLE list_prefs (
  user_id bigint NOT NULL REFERENCES users(id),
  module  text NOT NULL,
  -- visible columns, in order
  columns text[] NOT NULL,
  PRIMARY KEY (user_id, module)
);

-- Duplicate rules for customers: per field, whole company or same department, warn or block.
CREATE TABLE customer_dup_rules (
  field   text PRIMARY KEY CHECK (field IN ('name', 'phone', 'mobile', 'email')),
  enabled boolean NOT NULL DEFAULT true,
  scope   text NOT NULL DEFAULT 'company' CHECK (scope IN ('company', 'dept')),
  effect  text NOT NULL DEFAULT 'warn' CHECK (effect IN ('warn', 'block'))
);
INSERT INTO customer_dup_rules (field, enabled, scope, effect) VALUES
  ('name', true, 'company', 'block'),
  ('phone', true, 'company', 'warn'),
  ('mobile', true, 'company', 'warn'),
  ('email', false, 'company', 'warn');

-- Ownership caps: how many customers a user may own / lock. A user's own row wins over their
-- department's (the nearest department up the tree that has one).
CREATE TABLE customer_caps (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     bigint UNIQUE REFERENCES users(id),
  dept_id     bigint UNIQUE REFERENCES departments(id),
  max_owned   int CHECK (max_owned >= 0),
  count_dealt boolean NOT NULL DEFAULT true,
  max_locked  int CHECK (max_locked >= 0),
  CHECK (num_nonnulls(user_id, dept_id) = 1)
);
