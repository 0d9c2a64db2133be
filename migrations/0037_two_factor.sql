-- Two-factor sign-in (TOTP, RFC 6238) with one-time recovery codes (issue 21, "Accounts").
--
-- The secret is stored as it is (base32): the project configures no encryption key, and a key
-- scheme nothing configures would protect nothing. Whoever reads this column can compute codes,
-- so it is as sensitive as the session table; recovery codes are argon2 hashes like passwords.

ALTER TABLE users
  -- Base32 secret; NULL while two-factor sign-in is off.
  ADD COLUMN totp_secret text,
  -- When the user confirmed the secret with a code: two-factor sign-in is on from then.
  ADD COLUMN totp_enabled_at timestamptz,
  -- The last time step (unix time / 30) whose code was accepted: a code is never taken twice,
  -- nor one of an earlier step.
  ADD COLUMN totp_last_step bigint,
  ADD CONSTRAINT users_totp_enabled_has_secret CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL);

CREATE TABLE user_recovery_codes (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users(id),
  code_hash  text NOT NULL,
  used_at    timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_recovery_codes_user ON user_recovery_codes (user_id) WHERE used_at IS NULL;

-- Roles whose holders must sign in with a second factor (the super admin role included: the
-- setting is on the roles page).
ALTER TABLE roles ADD COLUMN totp_required boolean NOT NULL DEFAULT false;
