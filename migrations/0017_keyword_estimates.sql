-- Keyword searches (`search ILIKE '%1388%'`) at a million customers: the planner estimates a
-- substring match from the column's histogram. With 100 entries a term matching 1.4% of rows
-- hit one entry or none, so the estimate swung between ~10,000 and 100 rows from one ANALYZE to
-- the next, and with 100 it sorted all 14,000 matches (54 ms) instead of walking the newest
-- customers (8 ms). 500 entries keep it steady; ANALYZE samples more rows in exchange.
ALTER TABLE customers ALTER COLUMN search SET STATISTICS 500;
ANALYZE customers;
