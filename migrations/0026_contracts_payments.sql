-- Contracts (合同/订单), payment plans (回款计划) and payments (回款), approved through the
-- engine; customers' credit limits (src/modules/contracts, src/modules/payments).

-- What a customer owes: approved contracts' amounts less confirmed payments (voided contracts
-- leave it). Kept by the contracts and payments modules in the transaction of each change, so
-- the credit check and the over-limit page read one row per customer.
ALTER TABLE customers
  ADD COLUMN credit_limit numeric(14,2) CHECK (credit_limit >= 0),
  ADD COLUMN receivable   numeric(14,2) NOT NULL DEFAULT 0;
CREATE INDEX customers_over_credit ON customers (owner_id, id)
  WHERE deleted_at IS NULL AND credit_limit IS NOT NULL AND receivable > credit_limit;

CREATE TABLE contracts (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  number             text NOT NULL CHECK (btrim(number) <> ''),
  name               text NOT NULL CHECK (btrim(name) <> ''),
  customer_id        bigint NOT NULL REFERENCES customers(id),
  opportunity_id     bigint REFERENCES opportunities(id),
  -- With lines: their total less `discount` percent; without: typed.
  amount             numeric(14,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
  discount           numeric(5,2) NOT NULL DEFAULT 0 CHECK (discount BETWEEN 0 AND 100),
  -- Confirmed payments; never above the amount.
  received           numeric(14,2) NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= amount),
  order_date         date NOT NULL,
  start_date         date,
  end_date           date,
  type_id            bigint REFERENCES dict_items(id),
  customer_signer_id bigint REFERENCES contacts(id) ON DELETE SET NULL,
  company_signer_id  bigint REFERENCES users(id),
  payment_terms      text,
  notes              text,
  status             text NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn', 'void')),
  approved_at        timestamptz,
  -- The credit figures when it was submitted over the customer's limit (shown to approvers).
  credit_warning     jsonb,
  void_reason        text,
  voided_at          timestamptz,
  voided_by          bigint REFERENCES users(id),
  owner_id           bigint REFERENCES users(id),
  last_followup_at   timestamptz,
  next_contact_at    timestamptz,
  custom             jsonb NOT NULL DEFAULT '{}',
  search             text GENERATED ALWAYS AS (number || ' ' || name) STORED,
  created_by         bigint REFERENCES users(id),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  deleted_by         bigint REFERENCES users(id),
  CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
  CHECK ((status = 'void') = (voided_at IS NOT NULL))
);
CREATE UNIQUE INDEX contracts_number ON contracts (number);
CREATE INDEX contracts_owner_updated ON contracts (owner_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX contracts_updated ON contracts (updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX contracts_customer ON contracts (customer_id) WHERE deleted_at IS NULL;
CREATE INDEX contracts_opportunity ON contracts (opportunity_id) WHERE deleted_at IS NULL AND opportunity_id IS NOT NULL;
-- Expiring contracts: approved ones by end date.
CREATE INDEX contracts_ending ON contracts (end_date) INCLUDE (owner_id)
  WHERE deleted_at IS NULL AND status = 'approved';
CREATE INDEX contracts_search ON contracts USING gin (search gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX contracts_name_bigrams ON contracts USING gin (name_bigrams(name)) WHERE deleted_at IS NULL;
CREATE STATISTICS contracts_name_bigrams_stats ON (name_bigrams(name)) FROM contracts;
CREATE INDEX contracts_deleted ON contracts (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE INDEX contracts_custom ON contracts USING gin (custom jsonb_path_ops);
CREATE TRIGGER contracts_touch BEFORE UPDATE ON contracts FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER contracts_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON contracts
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('contract');

-- The list footer's totals without summing 200,000 rows: live contracts per owner and status
-- with their amount and what was received, kept by a trigger (as opportunity_sums).
CREATE TABLE contract_sums (
  owner_id bigint NOT NULL,
  status   text NOT NULL,
  n        bigint NOT NULL DEFAULT 0,
  amount   numeric(18,2) NOT NULL DEFAULT 0,
  received numeric(18,2) NOT NULL DEFAULT 0,
  PRIMARY KEY (owner_id, status)
);

CREATE FUNCTION contract_sums_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
    UPDATE contract_sums SET n = n - 1, amount = amount - OLD.amount, received = received - OLD.received
     WHERE owner_id = coalesce(OLD.owner_id, 0) AND status = OLD.status;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
    INSERT INTO contract_sums AS s (owner_id, status, n, amount, received)
    VALUES (coalesce(NEW.owner_id, 0), NEW.status, 1, NEW.amount, NEW.received)
    ON CONFLICT (owner_id, status) DO UPDATE
      SET n = s.n + 1, amount = s.amount + EXCLUDED.amount, received = s.received + EXCLUDED.received;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER contracts_sums AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at, amount, received, status
  ON contracts FOR EACH ROW EXECUTE FUNCTION contract_sums_keep();

-- Product lines, as opportunity_lines: the price at the time the line was added.
CREATE TABLE contract_lines (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contract_id bigint NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
  product_id  bigint NOT NULL REFERENCES products(id),
  price       numeric(14,2) NOT NULL CHECK (price >= 0),
  quantity    numeric(12,2) NOT NULL CHECK (quantity > 0),
  discount    numeric(5,2) NOT NULL DEFAULT 0 CHECK (discount BETWEEN 0 AND 100),
  subtotal    numeric(14,2) NOT NULL,
  position    int NOT NULL
);
CREATE INDEX contract_lines_contract ON contract_lines (contract_id, position);
CREATE INDEX contract_lines_product ON contract_lines (product_id);

-- Payment plans (回款计划): numbered terms of an approved contract. `received` is the sum of the
-- confirmed payments booked to the term, kept with each approval.
CREATE TABLE payment_plans (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contract_id bigint NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
  term        int NOT NULL CHECK (term > 0),
  amount      numeric(14,2) NOT NULL CHECK (amount > 0),
  received    numeric(14,2) NOT NULL DEFAULT 0 CHECK (received >= 0),
  due_date    date NOT NULL,
  method_id   bigint REFERENCES dict_items(id),
  remind_days int NOT NULL DEFAULT 0 CHECK (remind_days BETWEEN 0 AND 365),
  -- The day the owner was reminded (a reminder goes once per due date).
  reminded_for date,
  notes       text,
  created_by  bigint REFERENCES users(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (contract_id, term)
);
-- Open terms by due date: the due/overdue list, reminders and the ageing page.
CREATE INDEX payment_plans_open ON payment_plans (due_date) INCLUDE (contract_id, amount, received)
  WHERE received < amount;
CREATE TRIGGER payment_plans_touch BEFORE UPDATE ON payment_plans FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Payments (回款): only approved ones count as received.
CREATE TABLE payments (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  number      text NOT NULL CHECK (btrim(number) <> ''),
  contract_id bigint NOT NULL REFERENCES contracts(id),
  -- The contract's customer (a contract's customer no longer changes once it is approved).
  customer_id bigint NOT NULL REFERENCES customers(id),
  plan_id     bigint REFERENCES payment_plans(id) ON DELETE SET NULL,
  amount      numeric(14,2) NOT NULL CHECK (amount > 0),
  paid_on     date NOT NULL,
  method_id   bigint REFERENCES dict_items(id),
  notes       text,
  status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
  approved_at timestamptz,
  owner_id    bigint REFERENCES users(id),
  custom      jsonb NOT NULL DEFAULT '{}',
  search      text GENERATED ALWAYS AS (number) STORED,
  created_by  bigint REFERENCES users(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  deleted_by  bigint REFERENCES users(id)
);
CREATE UNIQUE INDEX payments_number ON payments (number);
CREATE INDEX payments_contract ON payments (contract_id) WHERE deleted_at IS NULL;
CREATE INDEX payments_customer ON payments (customer_id) WHERE deleted_at IS NULL;
CREATE INDEX payments_owner_paid ON payments (owner_id, paid_on DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX payments_paid ON payments (paid_on DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX payments_deleted ON payments (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE INDEX payments_search ON payments USING gin (search gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- A payment is seen by whoever sees its contract (as contacts and their customers, migration
-- 0018): payments whose owner is not the contract's are flagged for the visibility predicate.
ALTER TABLE payments ADD COLUMN owner_split boolean NOT NULL DEFAULT false;
CREATE INDEX payments_split ON payments (contract_id) WHERE owner_split;
CREATE FUNCTION payments_mark_split() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.owner_split := NEW.owner_id IS DISTINCT FROM (SELECT owner_id FROM contracts WHERE id = NEW.contract_id);
  RETURN NEW;
END $$;
CREATE TRIGGER payments_split BEFORE INSERT OR UPDATE OF owner_id, contract_id ON payments
  FOR EACH ROW EXECUTE FUNCTION payments_mark_split();
CREATE FUNCTION contracts_mark_payments_split() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE payments SET owner_split = (owner_id IS DISTINCT FROM NEW.owner_id)
   WHERE contract_id = NEW.id AND owner_split <> (owner_id IS DISTINCT FROM NEW.owner_id);
  RETURN NULL;
END $$;
CREATE TRIGGER contracts_payments_split AFTER UPDATE OF owner_id ON contracts
  FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION contracts_mark_payments_split();
CREATE TRIGGER payments_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON payments
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('payment');

-- The approval subjects' flows were seeded disabled; the modules now submit to them.
-- The seeded roles get the modules' full defaults (apply_role_defaults runs them again; what an
-- admin granted stays, nothing is taken away).
DELETE FROM role_defaults_applied WHERE module IN ('contracts', 'payments');

-- Follow-ups may be about contracts already (migration 0007).
