-- Numbering rules (编号规则): how each kind of document gets its number, and the counters that
-- hand the numbers out (see src/numbering).

CREATE TABLE number_rules (
  kind       text PRIMARY KEY,
  -- Surrogate key for the operation log (entity 'number_rule').
  id         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  prefix     text NOT NULL DEFAULT '' CHECK (char_length(prefix) <= 20 AND prefix ~ '^[A-Za-z0-9_./-]*$'),
  date_part  text NOT NULL CHECK (date_part IN ('none', 'yyyy', 'yyyyMM', 'yyyyMMdd')),
  width      int NOT NULL CHECK (width BETWEEN 1 AND 12),
  reset      text NOT NULL CHECK (reset IN ('never', 'yearly', 'monthly', 'daily')),
  updated_by bigint REFERENCES users(id),
  updated_at timestamptz,
  -- A counter that restarts more often than the date part changes would repeat numbers.
  CONSTRAINT number_rules_reset_fits_date CHECK (
       reset = 'never'
    OR (reset = 'yearly'  AND date_part <> 'none')
    OR (reset = 'monthly' AND date_part IN ('yyyyMM', 'yyyyMMdd'))
    OR (reset = 'daily'   AND date_part = 'yyyyMMdd'))
);

-- One counter per kind and reset period: '' (never), '2026' (yearly), '202611' (monthly),
-- '20261123' (daily). The row lock taken by the increment serialises concurrent creators.
CREATE TABLE number_counters (
  kind   text NOT NULL REFERENCES number_rules(kind),
  period text NOT NULL CHECK (period ~ '^([0-9]{4}([0-9]{2}([0-9]{2})?)?)?$'),
  value  bigint NOT NULL CHECK (value >= 0),
  PRIMARY KEY (kind, period)
);

INSERT INTO number_rules (kind, prefix, date_part, width, reset) VALUES
  ('customer', 'KH', 'yyyyMM',   5, 'monthly'),
  ('contract', 'HT', 'yyyyMMdd', 4, 'daily'),
  ('payment',  'HK', 'yyyyMMdd', 4, 'daily');
