-- The public pool (公海): pools with members, admins and recycle rules; customers without an owner
-- sit in exactly one pool (src/modules/pool, src/modules/admin/pools).

CREATE TABLE pools (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                  text NOT NULL UNIQUE CHECK (btrim(name) <> ''),
  -- The pool ownerless customers fall into when no other is named; it cannot be deleted.
  is_default            boolean NOT NULL DEFAULT false,
  -- Most customers one user may claim from this pool per calendar day; NULL = unlimited.
  claim_cap_per_day     int CHECK (claim_cap_per_day >= 0),
  -- A previous owner cannot claim the same customer again for this many days.
  reclaim_cooldown_days int NOT NULL DEFAULT 0 CHECK (reclaim_cooldown_days BETWEEN 0 AND 3650),
  -- Owners are told this many days before a rule moves their customer here (0 = not told).
  remind_days_before    int NOT NULL DEFAULT 0 CHECK (remind_days_before BETWEEN 0 AND 365),
  created_by            bigint REFERENCES users(id),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pools_one_default ON pools (is_default) WHERE is_default;
CREATE TRIGGER pools_touch BEFORE UPDATE ON pools FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Who sees a pool and may claim from it: users, and departments (with everything below them).
CREATE TABLE pool_members (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool_id bigint NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
  user_id bigint REFERENCES users(id),
  dept_id bigint REFERENCES departments(id),
  CHECK (num_nonnulls(user_id, dept_id) = 1)
);
CREATE UNIQUE INDEX pool_members_user ON pool_members (pool_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX pool_members_dept ON pool_members (pool_id, dept_id) WHERE dept_id IS NOT NULL;
CREATE INDEX pool_members_by_user ON pool_members (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX pool_members_by_dept ON pool_members (dept_id) WHERE dept_id IS NOT NULL;

-- Pool admins see the pool and may assign its customers to users.
CREATE TABLE pool_admins (
  pool_id bigint NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users(id),
  PRIMARY KEY (pool_id, user_id)
);
CREATE INDEX pool_admins_user ON pool_admins (user_id);

-- Recycle rules: an owned customer moves into the pool when the rule's clock has run for `days`:
--   no_followup     no new follow-up (last follow-up, or since the owner got it)
--   no_opportunity  no new opportunity (customers.last_opportunity_at, set by the opportunities module)
--   no_deal         no deal (customers.dealt_at, set by the contracts module)
-- Optionally only for some levels / statuses (empty = all); dealt customers and customers with open
-- opportunities may be exempt.
CREATE TABLE pool_rules (
  id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool_id                   bigint NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
  kind                      text NOT NULL CHECK (kind IN ('no_followup', 'no_opportunity', 'no_deal')),
  days                      int NOT NULL CHECK (days BETWEEN 1 AND 3650),
  levels                    smallint[] NOT NULL DEFAULT '{}',
  status_ids                bigint[] NOT NULL DEFAULT '{}',
  exempt_dealt              boolean NOT NULL DEFAULT false,
  exempt_open_opportunities boolean NOT NULL DEFAULT false,
  enabled                   boolean NOT NULL DEFAULT true,
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pool_rules_pool ON pool_rules (pool_id, id);
CREATE TRIGGER pool_rules_touch BEFORE UPDATE ON pool_rules FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

INSERT INTO pools (name, is_default, remind_days_before) VALUES ('默认公海', true, 3);
-- Everyone: the root department(s), and so every department below.
INSERT INTO pool_members (pool_id, dept_id)
  SELECT p.id, d.id FROM pools p CROSS JOIN departments d WHERE p.is_default AND d.parent_id IS NULL;

ALTER TABLE customers
  -- The pool an ownerless customer sits in, since when and why
  -- ({"kind": "put_back", "text": "..."} or {"kind": "no_followup", "days": 30}).
  ADD COLUMN pool_id             bigint REFERENCES pools(id),
  ADD COLUMN pool_entered_at     timestamptz,
  ADD COLUMN pool_reason         jsonb,
  -- The owner before the customer last entered a pool.
  ADD COLUMN previous_owner_id   bigint REFERENCES users(id),
  -- When the current owner got the customer (kept by the trigger below): recycle clocks start here.
  ADD COLUMN owner_since         timestamptz NOT NULL DEFAULT now(),
  -- Set by the opportunities module when one is created (NULL until it lands).
  ADD COLUMN last_opportunity_at timestamptz,
  -- Set by the contracts module when the customer deals (NULL until it lands).
  ADD COLUMN dealt_at            timestamptz;

-- The invariant: a customer has an owner or sits in a pool (the default one unless named), never
-- both; a new owner restarts `owner_since` unless the statement sets it.
CREATE FUNCTION customers_pool_invariant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.owner_id IS DISTINCT FROM OLD.owner_id
     AND NEW.owner_since IS NOT DISTINCT FROM OLD.owner_since THEN
    NEW.owner_since := now();
  END IF;
  IF NEW.owner_id IS NOT NULL THEN
    NEW.pool_id := NULL;
    NEW.pool_entered_at := NULL;
    NEW.pool_reason := NULL;
  ELSIF NEW.pool_id IS NULL THEN
    NEW.pool_id := (SELECT id FROM pools WHERE is_default);
  END IF;
  IF NEW.pool_id IS NOT NULL AND NEW.pool_entered_at IS NULL THEN
    NEW.pool_entered_at := now();
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER customers_pool BEFORE INSERT OR UPDATE OF owner_id, pool_id ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_pool_invariant();

UPDATE customers SET pool_id = (SELECT id FROM pools WHERE is_default) WHERE owner_id IS NULL;

-- A pool's list: its customers, latest arrivals first.
CREATE INDEX customers_pool ON customers (pool_id, pool_entered_at DESC, id DESC)
  WHERE deleted_at IS NULL AND pool_id IS NOT NULL;

-- Claims and assignments out of a pool: daily claim caps count these.
CREATE TABLE pool_claims (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool_id     bigint REFERENCES pools(id) ON DELETE SET NULL,
  customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id),
  kind        text NOT NULL CHECK (kind IN ('claim', 'assign')),
  actor_id    bigint REFERENCES users(id),
  claimed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pool_claims_user ON pool_claims (user_id, claimed_at DESC);
CREATE INDEX pool_claims_customer ON pool_claims (customer_id);

-- Customers leaving an owner for a pool (put back or recycled): the reclaim cooldown reads these.
CREATE TABLE pool_releases (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool_id     bigint REFERENCES pools(id) ON DELETE SET NULL,
  customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id),
  kind        text NOT NULL CHECK (kind IN ('put_back', 'recycle')),
  actor_id    bigint REFERENCES users(id),
  released_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pool_releases_customer ON pool_releases (customer_id, user_id, released_at DESC);

-- Warnings already sent that a customer is about to be recycled (one per owner and due time).
CREATE TABLE pool_warnings (
  customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  owner_id    bigint NOT NULL REFERENCES users(id),
  due_at      timestamptz NOT NULL,
  warned_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, owner_id, due_at)
);
