-- Contacts by customer, deleted ones included. The only index on contacts.customer_id was partial
-- (live contacts), which a query without `deleted_at IS NULL` cannot use: the trigger that
-- re-flags a customer's contacts when the customer changes hands (0018), purging customers and the
-- foreign-key check behind it each read all 3M contacts — 0.6 s for every customer transferred,
-- claimed or put back. `contacts_customer_live` still serves the live lookups.
DROP INDEX contacts_customer;
CREATE INDEX contacts_customer ON contacts (customer_id);

-- A pool's page counts its customers (the tab and the list total): with owner_id in the pool
-- index that count reads the index alone — 30,000 pool customers: 30 ms -> 3 ms.
DROP INDEX customers_pool;
CREATE INDEX customers_pool ON customers (pool_id, pool_entered_at DESC, id DESC) INCLUDE (owner_id)
  WHERE deleted_at IS NULL AND pool_id IS NOT NULL;
