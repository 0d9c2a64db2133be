-- More of what the list pages need at a million rows (see scripts/bench).

-- Leads get owner counters too (unfiltered lead lists take their total from them).
CREATE TRIGGER leads_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON leads
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('lead');
INSERT INTO owner_counts (entity, owner_id, n)
  SELECT 'lead', coalesce(owner_id, 0), count(*) FROM leads WHERE deleted_at IS NULL GROUP BY 2;

-- Counting customers by status and region (a common filter pair) without visiting the table:
-- the scope test needs owner_id.
DROP INDEX customers_status;
CREATE INDEX customers_status ON customers (status_id, region_id) INCLUDE (owner_id) WHERE deleted_at IS NULL;

-- Contacts of customers in the recycle bin are hidden; finding them starts from the few
-- deleted customers.
CREATE INDEX contacts_customer_live ON contacts (customer_id) INCLUDE (owner_id) WHERE deleted_at IS NULL;
