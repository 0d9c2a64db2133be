-- The ageing page picks the customers owing the most past due from the terms due by today (a
-- range of this index), then sums those customers' terms (the second index). The due list and
-- the reminders read the same range. Terms of contracts no longer approved are left out (`live`).
DROP INDEX payment_plans_open;
CREATE INDEX payment_plans_open ON payment_plans (due_date)
  INCLUDE (customer_id, owner_id, contract_id, amount, received) WHERE received < amount AND live;
CREATE INDEX payment_plans_open_customer ON payment_plans (customer_id) WHERE received < amount AND live;
