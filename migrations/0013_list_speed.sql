-- What the list pages need to stay fast at a million rows (see scripts/bench).

-- 1. Totals without counting: live records per owner, kept by a trigger. An unfiltered list's
--    total is then a sum over the owners in scope instead of a count over the table.
CREATE TABLE owner_counts (
  entity   text NOT NULL,
  -- 0 for records without an owner (the public pool)
  owner_id bigint NOT NULL,
  n        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (entity, owner_id)
);

CREATE FUNCTION count_live_by_owner() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_entity text := TG_ARGV[0];
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
    UPDATE owner_counts SET n = n - 1 WHERE owner_counts.entity = v_entity AND owner_id = coalesce(OLD.owner_id, 0);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
    INSERT INTO owner_counts AS oc (entity, owner_id, n) VALUES (v_entity, coalesce(NEW.owner_id, 0), 1)
    ON CONFLICT (entity, owner_id) DO UPDATE SET n = oc.n + 1;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER customers_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON customers
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('customer');
CREATE TRIGGER contacts_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON contacts
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('contact');
INSERT INTO owner_counts (entity, owner_id, n)
  SELECT 'customer', coalesce(owner_id, 0), count(*) FROM customers WHERE deleted_at IS NULL GROUP BY 2;
INSERT INTO owner_counts (entity, owner_id, n)
  SELECT 'contact', coalesce(owner_id, 0), count(*) FROM contacts WHERE deleted_at IS NULL GROUP BY 2;

-- 2. The "all customers" list walks this index newest-first; the columns the common filters and
--    the scope test are included, so the page query is an index-only scan.
DROP INDEX customers_updated;
CREATE INDEX customers_updated ON customers (updated_at DESC, id DESC) INCLUDE (owner_id, status_id, region_id)
  WHERE deleted_at IS NULL;

-- 3. Two-character Chinese terms ("华信"): trigrams need three characters, so names and short
--    names also get an index of their character pairs.
CREATE FUNCTION name_bigrams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}')
  FROM (SELECT substr(lower(t), i, 2) AS g FROM generate_series(1, length(t) - 1) i) x
  WHERE g !~ '\s'
$$;
CREATE INDEX customers_name_bigrams ON customers USING gin (name_bigrams(name || ' ' || coalesce(short_name, '')))
  WHERE deleted_at IS NULL;
