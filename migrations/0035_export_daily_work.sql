-- The daily-work lists export too: tasks (/tasks, the view shown) and work logs (/worklogs, the
-- tab shown). Databases made before got the catalog's defaults for these modules without
-- `export`, so the seeded roles get it here as a fresh database does from the permission catalog
-- (ON CONFLICT keeps both). Schedule has no list of its own (the calendar is its page), so no
-- export right there.
INSERT INTO role_permissions (role_id, module, action)
SELECT r.id, g.module, g.action
  FROM roles r
  JOIN (VALUES ('director', 'tasks', 'export'), ('director', 'worklogs', 'export'),
               ('manager', 'tasks', 'export'), ('manager', 'worklogs', 'export'))
       AS g(role, module, action) ON g.role = r.code
ON CONFLICT DO NOTHING;
