-- The payment list's footer (confirmed and waiting totals) without summing every visible payment:
-- live payments per owner and status with their amount, kept by a trigger (as contract_sums).
-- Payments seen through their contract rather than their own owner are few and summed row by row.
CREATE TABLE payment_sums (
  owner_id bigint NOT NULL,
  status   text NOT NULL,
  n        bigint NOT NULL DEFAULT 0,
  amount   numeric(18,2) NOT NULL DEFAULT 0,
  PRIMARY KEY (owner_id, status)
);
INSERT INTO payment_sums (owner_id, status, n, amount)
  SELECT coalesce(owner_id, 0), status, count(*), sum(amount) FROM payments WHERE deleted_at IS NULL GROUP BY 1, 2;

CREATE FUNCTION payment_sums_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
    UPDATE payment_sums SET n = n - 1, amount = amount - OLD.amount
     WHERE owner_id = coalesce(OLD.owner_id, 0) AND status = OLD.status;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
    INSERT INTO payment_sums AS s (owner_id, status, n, amount)
    VALUES (coalesce(NEW.owner_id, 0), NEW.status, 1, NEW.amount)
    ON CONFLICT (owner_id, status) DO UPDATE SET n = s.n + 1, amount = s.amount + EXCLUDED.amount;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER payments_sums AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at, amount, status
  ON payments FOR EACH ROW EXECUTE FUNCTION payment_sums_keep();
