-- Foundation: organisation, roles, login log, audit log, team and sharing tables.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Keeps updated_at honest without every UPDATE having to remember it.
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE TABLE app_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE departments (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  parent_id  bigint REFERENCES departments(id),
  name       text NOT NULL CHECK (btrim(name) <> ''),
  head_id    bigint,
  sort       int NOT NULL DEFAULT 0,
  created_by bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX departments_parent ON departments (parent_id);
CREATE TRIGGER departments_touch BEFORE UPDATE ON departments FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
-- The default root; it can be renamed.
INSERT INTO departments (name) VALUES ('办公室');

CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login         text NOT NULL CHECK (btrim(login) <> ''),
  mobile        text,
  name          text NOT NULL CHECK (btrim(name) <> ''),
  gender        text CHECK (gender IN ('male', 'female')),
  email         text,
  dept_id       bigint NOT NULL REFERENCES departments(id),
  position      text,
  superior_id   bigint REFERENCES users(id),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  lang          text CHECK (lang IN ('zh-CN', 'en')),
  password_hash text NOT NULL,
  -- Bumped on password change or disable: sessions holding an older value end.
  session_epoch int NOT NULL DEFAULT 0,
  last_login_at timestamptz,
  created_by    bigint REFERENCES users(id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (superior_id IS NULL OR superior_id <> id)
);
CREATE UNIQUE INDEX users_login_key ON users (lower(login));
CREATE UNIQUE INDEX users_mobile_key ON users (mobile) WHERE mobile IS NOT NULL;
CREATE INDEX users_superior ON users (superior_id);
CREATE INDEX users_dept ON users (dept_id);
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

ALTER TABLE departments ADD CONSTRAINT departments_head_fk FOREIGN KEY (head_id) REFERENCES users(id);
ALTER TABLE departments ADD CONSTRAINT departments_created_by_fk FOREIGN KEY (created_by) REFERENCES users(id);

CREATE TABLE roles (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Seeded roles carry a code so upgrades can find them; admin-made roles have none.
  code        text UNIQUE,
  name        text NOT NULL UNIQUE CHECK (btrim(name) <> ''),
  description text NOT NULL DEFAULT '',
  is_super    boolean NOT NULL DEFAULT false,
  created_by  bigint REFERENCES users(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER roles_touch BEFORE UPDATE ON roles FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE role_permissions (
  role_id bigint NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  module  text NOT NULL,
  action  text NOT NULL,
  PRIMARY KEY (role_id, module, action)
);

CREATE TABLE role_scopes (
  role_id bigint NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  module  text NOT NULL,
  scope   text NOT NULL CHECK (scope IN ('self', 'subordinates', 'dept', 'dept_tree', 'all')),
  PRIMARY KEY (role_id, module)
);

CREATE TABLE user_roles (
  user_id bigint NOT NULL REFERENCES users(id),
  role_id bigint NOT NULL REFERENCES roles(id),
  PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (role_id);

-- Which modules' default grants the seeded roles already received (see access::catalog).
CREATE TABLE role_defaults_applied (
  module text PRIMARY KEY
);

INSERT INTO roles (code, name, description, is_super) VALUES
  ('super',    '超级管理员', '拥有全部权限，不可编辑', true),
  ('director', '销售总监',   '查看全部数据', false),
  ('manager',  '销售经理',   '本部门及下级部门数据，可审批', false),
  ('rep',      '销售代表',   '仅本人数据', false),
  ('readonly', '只读',       '仅查看本人及下属数据', false);

CREATE TABLE login_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  login      text NOT NULL,
  user_id    bigint REFERENCES users(id),
  ip         text,
  user_agent text NOT NULL DEFAULT '',
  result     text NOT NULL
);
CREATE INDEX login_log_at ON login_log (at DESC);
CREATE INDEX login_log_user ON login_log (user_id, at DESC);

-- Failure counters per login name and per IP (keys 'login:<name>' / 'ip:<addr>').
CREATE TABLE login_locks (
  key          text PRIMARY KEY,
  failures     int NOT NULL,
  window_start timestamptz NOT NULL,
  locked_until timestamptz
);

CREATE TABLE operation_logs (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entity    text NOT NULL,
  entity_id bigint,
  actor_id  bigint REFERENCES users(id),
  action    text NOT NULL,
  changes   jsonb NOT NULL DEFAULT '[]',
  note      text,
  ip        text,
  at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operation_logs_record ON operation_logs (entity, entity_id, at DESC);
CREATE INDEX operation_logs_actor ON operation_logs (actor_id, at DESC);
CREATE INDEX operation_logs_at ON operation_logs (at DESC);

-- Team members of a record (相关团队): read or read-write, optionally until a time.
CREATE TABLE record_members (
  entity     text NOT NULL,
  record_id  bigint NOT NULL,
  user_id    bigint NOT NULL REFERENCES users(id),
  access     text NOT NULL CHECK (access IN ('read', 'write')),
  expires_at timestamptz,
  created_by bigint REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entity, record_id, user_id)
);
CREATE INDEX record_members_user ON record_members (user_id, entity);

-- Records shared (共享) read-only with a user or a whole department, optionally until a time.
CREATE TABLE record_shares (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entity     text NOT NULL,
  record_id  bigint NOT NULL,
  user_id    bigint REFERENCES users(id),
  dept_id    bigint REFERENCES departments(id),
  expires_at timestamptz,
  created_by bigint REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (num_nonnulls(user_id, dept_id) = 1)
);
CREATE INDEX record_shares_user ON record_shares (entity, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX record_shares_dept ON record_shares (entity, dept_id) WHERE dept_id IS NOT NULL;
CREATE INDEX record_shares_record ON record_shares (entity, record_id);
