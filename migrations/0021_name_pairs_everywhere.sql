-- Two-character searches on contacts and leads (see src/list/keyword.rs): "张伟" or "华信" is
-- too short for the trigram index, and with nothing to look up Postgres read all of it — 15 s
-- for a region manager's top-bar search over 3M contacts. Their names get the character-pair
-- index customers have had since 0013, with statistics on the expression (as 0016) so rare and
-- common pairs are estimated apart.
CREATE INDEX contacts_name_bigrams ON contacts USING gin (name_bigrams(name)) WHERE deleted_at IS NULL;
CREATE STATISTICS contacts_name_bigrams_stats ON (name_bigrams(name)) FROM contacts;
CREATE INDEX leads_name_bigrams ON leads USING gin (name_bigrams(name || ' ' || coalesce(contact_name, '')))
  WHERE deleted_at IS NULL;
CREATE STATISTICS leads_name_bigrams_stats ON (name_bigrams(name || ' ' || coalesce(contact_name, ''))) FROM leads;
ANALYZE contacts;
ANALYZE leads;
