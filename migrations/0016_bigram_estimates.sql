-- Two-character searches (see customers::repo::push_keyword) at a million customers.
--
-- The planner had no statistics for the bigram expression (its index is partial, and partial
-- indexes' statistics are not used), so it guessed 0.5% of rows for any term and, for a rare
-- one, walked the newest customers evaluating name_bigrams() on each: 1.3 s for "华信". With
-- statistics on the expression it estimates rare and common terms apart.
CREATE STATISTICS customers_name_bigrams_stats ON (name_bigrams(name || ' ' || coalesce(short_name, ''))) FROM customers;
-- The function builds an array per call (~20 µs); telling the planner so makes it test the
-- cheap ILIKE the query adds first, and prefer the index over evaluating it row by row.
ALTER FUNCTION name_bigrams(text) COST 1000;
ANALYZE customers;
