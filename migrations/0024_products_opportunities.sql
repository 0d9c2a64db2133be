-- Products (产品) and opportunities (商机): the catalogue with its price history, stage groups
-- with win rates, opportunities with product lines and a stage history (src/modules/products,
-- src/modules/opportunities, src/modules/admin/stages).

INSERT INTO dicts (code, name_zh, name_en, is_tree, extras, position) VALUES
  ('product_category',   '产品分类', 'Product category', true, '[]', 21),
  ('product_unit',       '计量单位', 'Unit', false, '[]', 22),
  ('opportunity_source', '商机来源', 'Opportunity source', false, '[]', 23),
  ('opportunity_type',   '商机类型', 'Opportunity type', false, '[]', 24),
  ('win_reason',         '赢单原因', 'Win reason', false, '[]', 25),
  ('invalid_reason',     '无效原因', 'Invalid reason', false, '[]', 26);

INSERT INTO dict_items (dict, code, label_zh, label_en, position) VALUES
  ('product_category', 'software', '软件产品', 'Software', 1),
  ('product_category', 'hardware', '硬件设备', 'Hardware', 2),
  ('product_category', 'service',  '技术服务', 'Services', 3);
INSERT INTO dict_items (dict, parent_id, code, label_zh, label_en, position)
  SELECT 'product_category', p.id, c.code, c.zh, c.en, c.pos
    FROM (VALUES ('software', 'license',  '软件授权', 'Licences', 1),
                 ('software', 'saas',     '云服务订阅', 'SaaS subscriptions', 2),
                 ('hardware', 'server',   '服务器', 'Servers', 1),
                 ('hardware', 'terminal', '终端设备', 'Terminals', 2),
                 ('service',  'implement', '实施服务', 'Implementation', 1),
                 ('service',  'support',  '运维支持', 'Support', 2)) AS c(parent, code, zh, en, pos)
    JOIN dict_items p ON p.dict = 'product_category' AND p.code = c.parent;

INSERT INTO dict_items (dict, code, label_zh, label_en, position) VALUES
  ('product_unit', 'set',   '套', 'set', 1),
  ('product_unit', 'piece', '台', 'unit', 2),
  ('product_unit', 'year',  '年', 'year', 3),
  ('product_unit', 'month', '月', 'month', 4),
  ('product_unit', 'day',   '人天', 'person-day', 5),
  ('product_unit', 'item',  '个', 'item', 6),
  ('opportunity_source', 'customer',   '老客户需求', 'Existing customer', 1),
  ('opportunity_source', 'lead',       '线索转化', 'Converted lead', 2),
  ('opportunity_source', 'referral',   '客户介绍', 'Referral', 3),
  ('opportunity_source', 'event',      '市场活动', 'Marketing event', 4),
  ('opportunity_source', 'other',      '其他', 'Other', 5),
  ('opportunity_type', 'new',     '新购', 'New business', 1),
  ('opportunity_type', 'upsell',  '增购', 'Upsell', 2),
  ('opportunity_type', 'renewal', '续约', 'Renewal', 3),
  ('win_reason', 'price',        '价格有优势', 'Better price', 1),
  ('win_reason', 'fit',          '产品更匹配', 'Better fit', 2),
  ('win_reason', 'relationship', '客户关系好', 'Strong relationship', 3),
  ('invalid_reason', 'duplicate',  '重复商机', 'Duplicate', 1),
  ('invalid_reason', 'no_need',    '客户无真实需求', 'No real need', 2),
  ('invalid_reason', 'mistake',    '误建或测试', 'Created by mistake', 3);
-- The lost reasons the seed dictionary was made for (it had no items yet).
INSERT INTO dict_items (dict, code, label_zh, label_en, position)
  SELECT 'lost_reason', v.code, v.zh, v.en, v.pos
    FROM (VALUES ('price',      '价格过高', 'Price too high', 1),
                 ('competitor', '选择了竞品', 'Chose a competitor', 2),
                 ('budget',     '预算取消', 'Budget cancelled', 3),
                 ('timing',     '需求推迟', 'Need postponed', 4)) AS v(code, zh, en, pos)
   WHERE NOT EXISTS (SELECT 1 FROM dict_items WHERE dict = 'lost_reason');

INSERT INTO number_rules (kind, prefix, date_part, width, reset) VALUES
  ('product', 'CP', 'none', 6, 'never')
ON CONFLICT (kind) DO NOTHING;

CREATE TABLE products (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code        text NOT NULL UNIQUE,
  name        text NOT NULL CHECK (btrim(name) <> ''),
  category_id bigint REFERENCES dict_items(id),
  unit_id     bigint REFERENCES dict_items(id),
  -- The list price new lines start from, and the cost (seen only with the `cost` permission).
  price       numeric(14,2) NOT NULL DEFAULT 0 CHECK (price >= 0),
  cost_price  numeric(14,2) CHECK (cost_price >= 0),
  spec        text,
  description text,
  -- 上架: only products on the shelf go on new lines.
  on_shelf    boolean NOT NULL DEFAULT true,
  custom      jsonb NOT NULL DEFAULT '{}',
  search      text GENERATED ALWAYS AS (name || ' ' || code || ' ' || coalesce(spec, '')) STORED,
  created_by  bigint REFERENCES users(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  deleted_by  bigint REFERENCES users(id)
);
CREATE INDEX products_updated ON products (updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX products_category ON products (category_id) WHERE deleted_at IS NULL;
CREATE INDEX products_search ON products USING gin (search gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX products_name_bigrams ON products USING gin (name_bigrams(name)) WHERE deleted_at IS NULL;
CREATE INDEX products_deleted ON products (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE INDEX products_custom ON products USING gin (custom jsonb_path_ops);
CREATE TRIGGER products_touch BEFORE UPDATE ON products FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Every price a product had: written when it is created and whenever its price or cost changes.
CREATE TABLE product_prices (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  product_id bigint NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  price      numeric(14,2) NOT NULL,
  cost_price numeric(14,2),
  changed_by bigint REFERENCES users(id),
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_prices_product ON product_prices (product_id, changed_at DESC);

-- Stage groups (商机组): an ordered list of stages with win rates. A group applies to the
-- departments chosen for it (a department under one of them too); the default group to the rest.
CREATE TABLE stage_groups (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (btrim(name) <> ''),
  is_default boolean NOT NULL DEFAULT false,
  position   int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX stage_groups_one_default ON stage_groups (is_default) WHERE is_default;

CREATE TABLE stage_group_depts (
  dept_id  bigint PRIMARY KEY REFERENCES departments(id) ON DELETE CASCADE,
  group_id bigint NOT NULL REFERENCES stage_groups(id) ON DELETE CASCADE
);

CREATE TABLE stages (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_id bigint NOT NULL REFERENCES stage_groups(id),
  name_zh  text NOT NULL CHECK (btrim(name_zh) <> ''),
  name_en  text NOT NULL CHECK (btrim(name_en) <> ''),
  win_rate smallint NOT NULL CHECK (win_rate BETWEEN 0 AND 100),
  position int NOT NULL
);
CREATE INDEX stages_group ON stages (group_id, position);

WITH g AS (INSERT INTO stage_groups (name, is_default, position) VALUES ('通用销售流程', true, 1) RETURNING id)
INSERT INTO stages (group_id, name_zh, name_en, win_rate, position)
  SELECT g.id, s.zh, s.en, s.rate, s.pos FROM g,
    (VALUES ('初步接洽', 'Initial contact', 10, 1),
            ('需求确认', 'Needs confirmed', 30, 2),
            ('方案报价', 'Proposal', 50, 3),
            ('商务谈判', 'Negotiation', 70, 4),
            ('合同签订', 'Contract', 90, 5)) AS s(zh, en, rate, pos);

CREATE TABLE opportunities (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name             text NOT NULL CHECK (btrim(name) <> ''),
  customer_id      bigint NOT NULL REFERENCES customers(id),
  -- With lines: their total less `discount` percent; without: typed.
  amount           numeric(14,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
  discount         numeric(5,2) NOT NULL DEFAULT 0 CHECK (discount BETWEEN 0 AND 100),
  expected_close   date,
  group_id         bigint NOT NULL REFERENCES stage_groups(id),
  -- The stage it is at (kept when it closes: where it was won or lost).
  stage_id         bigint NOT NULL REFERENCES stages(id),
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost', 'invalid')),
  closed_on        date,
  close_reason_id  bigint REFERENCES dict_items(id),
  close_note       text,
  stage_changed_at timestamptz NOT NULL DEFAULT now(),
  source_id        bigint REFERENCES dict_items(id),
  type_id          bigint REFERENCES dict_items(id),
  competitors      text,
  next_step        text,
  notes            text,
  owner_id         bigint REFERENCES users(id),
  last_followup_at timestamptz,
  next_contact_at  timestamptz,
  custom           jsonb NOT NULL DEFAULT '{}',
  search           text GENERATED ALWAYS AS (name || ' ' || coalesce(competitors, '')) STORED,
  created_by       bigint REFERENCES users(id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  deleted_by       bigint REFERENCES users(id),
  CHECK ((status = 'open') = (closed_on IS NULL))
);
CREATE INDEX opportunities_owner_updated ON opportunities (owner_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_updated ON opportunities (updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_customer ON opportunities (customer_id) WHERE deleted_at IS NULL;
-- The list's close-date filter and sort.
CREATE INDEX opportunities_close ON opportunities (expected_close) INCLUDE (owner_id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_search ON opportunities USING gin (search gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_name_bigrams ON opportunities USING gin (name_bigrams(name)) WHERE deleted_at IS NULL;
CREATE STATISTICS opportunities_name_bigrams_stats ON (name_bigrams(name)) FROM opportunities;
CREATE INDEX opportunities_deleted ON opportunities (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE INDEX opportunities_custom ON opportunities USING gin (custom jsonb_path_ops);
CREATE TRIGGER opportunities_touch BEFORE UPDATE ON opportunities FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER opportunities_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON opportunities
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('opportunity');

-- Product lines: the price is the one at the time the line was added; subtotal =
-- price × quantity × (1 − discount %), rounded half up to cents.
CREATE TABLE opportunity_lines (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  opportunity_id bigint NOT NULL REFERENCES opportunities(id) ON DELETE CASCADE,
  product_id     bigint NOT NULL REFERENCES products(id),
  price          numeric(14,2) NOT NULL CHECK (price >= 0),
  quantity       numeric(12,2) NOT NULL CHECK (quantity > 0),
  discount       numeric(5,2) NOT NULL DEFAULT 0 CHECK (discount BETWEEN 0 AND 100),
  subtotal       numeric(14,2) NOT NULL,
  position       int NOT NULL
);
CREATE INDEX opportunity_lines_opportunity ON opportunity_lines (opportunity_id, position);
CREATE INDEX opportunity_lines_product ON opportunity_lines (product_id);

CREATE TABLE opportunity_contacts (
  opportunity_id bigint NOT NULL REFERENCES opportunities(id) ON DELETE CASCADE,
  contact_id     bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  PRIMARY KEY (opportunity_id, contact_id)
);
CREATE INDEX opportunity_contacts_contact ON opportunity_contacts (contact_id);

-- Every stage move, close and reopen: where from and to, why, and how long it sat before.
CREATE TABLE opportunity_stage_log (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  opportunity_id bigint NOT NULL REFERENCES opportunities(id) ON DELETE CASCADE,
  -- A stage deleted since (one no opportunity is at any more) leaves NULL here; the audit
  -- history keeps its name.
  from_stage_id  bigint REFERENCES stages(id) ON DELETE SET NULL,
  to_stage_id    bigint REFERENCES stages(id) ON DELETE SET NULL,
  from_status    text,
  to_status      text NOT NULL,
  reason_id      bigint REFERENCES dict_items(id),
  note           text,
  seconds_before bigint NOT NULL DEFAULT 0,
  actor_id       bigint REFERENCES users(id),
  at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opportunity_stage_log_opportunity ON opportunity_stage_log (opportunity_id, at DESC);

-- Footer and board totals without summing a few hundred thousand rows: live opportunities per
-- owner, stage and status, with their amount, kept by a trigger (as owner_counts, migration 0013).
CREATE TABLE opportunity_sums (
  owner_id bigint NOT NULL,
  stage_id bigint NOT NULL,
  status   text NOT NULL,
  n        bigint NOT NULL DEFAULT 0,
  amount   numeric(18,2) NOT NULL DEFAULT 0,
  PRIMARY KEY (owner_id, stage_id, status)
);

CREATE FUNCTION opportunity_sums_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
    UPDATE opportunity_sums SET n = n - 1, amount = amount - OLD.amount
     WHERE owner_id = coalesce(OLD.owner_id, 0) AND stage_id = OLD.stage_id AND status = OLD.status;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
    INSERT INTO opportunity_sums AS s (owner_id, stage_id, status, n, amount)
    VALUES (coalesce(NEW.owner_id, 0), NEW.stage_id, NEW.status, 1, NEW.amount)
    ON CONFLICT (owner_id, stage_id, status) DO UPDATE SET n = s.n + 1, amount = s.amount + EXCLUDED.amount;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER opportunities_sums AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at, amount, stage_id, status
  ON opportunities FOR EACH ROW EXECUTE FUNCTION opportunity_sums_keep();

-- The board's cards: the open ones of a stage, most recently changed first.
CREATE INDEX opportunities_open_cards ON opportunities (stage_id, updated_at DESC, id DESC) INCLUDE (owner_id)
  WHERE deleted_at IS NULL AND status = 'open';
-- The forecast and the stalled list: open ones by owner.
CREATE INDEX opportunities_open_owner ON opportunities (owner_id, expected_close)
  INCLUDE (stage_id, amount, stage_changed_at, last_followup_at) WHERE deleted_at IS NULL AND status = 'open';
