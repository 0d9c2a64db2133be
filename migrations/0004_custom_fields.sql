-- Custom fields: admin-defined extra fields per entity; values live in each entity's `custom jsonb`.

CREATE TABLE field_defs (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entity     text NOT NULL CHECK (entity IN ('lead', 'customer', 'contact', 'opportunity', 'contract', 'payment', 'product')),
  -- The JSON key; fixed after creation so stored values never lose their field.
  key        text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
  label_zh   text NOT NULL CHECK (btrim(label_zh) <> ''),
  label_en   text NOT NULL CHECK (btrim(label_en) <> ''),
  -- Fixed after creation too: a new type would misread stored values.
  kind       text NOT NULL CHECK (kind IN ('text', 'textarea', 'integer', 'decimal', 'date', 'datetime', 'select',
                                            'multiselect', 'boolean', 'email', 'phone', 'url', 'user')),
  -- For select / multiselect: [{"value": "...", "zh": "...", "en": "..."}]
  options    jsonb NOT NULL DEFAULT '[]',
  required   boolean NOT NULL DEFAULT false,
  is_unique  boolean NOT NULL DEFAULT false,
  position   int NOT NULL DEFAULT 0,
  active     boolean NOT NULL DEFAULT true,
  created_by bigint REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (entity, key)
);
CREATE INDEX field_defs_entity ON field_defs (entity, position);
CREATE TRIGGER field_defs_touch BEFORE UPDATE ON field_defs FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
