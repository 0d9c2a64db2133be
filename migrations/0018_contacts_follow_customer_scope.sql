-- A contact is visible to whoever sees its customer through the customer owner's scope, also when
-- the contact itself was transferred to someone else ("visibility follows the customer's scope").
-- Such contacts are rare, so they are flagged (owner differs from the customer's owner) and
-- indexed: the visibility predicate reaches them through a small InitPlan instead of joining
-- every contact's customer. Triggers keep the flag right whichever side changes hands; a
-- customer changing hands without its contacts touches those contacts' updated_at, which is
-- fair: who sees them changed.
ALTER TABLE contacts ADD COLUMN owner_split boolean NOT NULL DEFAULT false;
UPDATE contacts ct SET owner_split = true
  FROM customers cu WHERE cu.id = ct.customer_id AND ct.owner_id IS DISTINCT FROM cu.owner_id;
CREATE INDEX contacts_split ON contacts (customer_id) WHERE owner_split;

CREATE FUNCTION contacts_mark_split() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.owner_split := NEW.owner_id IS DISTINCT FROM (SELECT owner_id FROM customers WHERE id = NEW.customer_id);
  RETURN NEW;
END $$;
CREATE TRIGGER contacts_split BEFORE INSERT OR UPDATE OF owner_id, customer_id ON contacts
  FOR EACH ROW EXECUTE FUNCTION contacts_mark_split();

CREATE FUNCTION customers_mark_contacts_split() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE contacts SET owner_split = (owner_id IS DISTINCT FROM NEW.owner_id)
   WHERE customer_id = NEW.id AND owner_split <> (owner_id IS DISTINCT FROM NEW.owner_id);
  RETURN NULL;
END $$;
CREATE TRIGGER customers_contacts_split AFTER UPDATE OF owner_id ON customers
  FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION customers_mark_contacts_split();
