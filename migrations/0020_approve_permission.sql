-- The `approve` permission (审批) means something now: the approval engine asks, and lets decide,
-- only users holding `approve` on the subject's module (customers for status upgrades, contracts,
-- payments; super admins always). Databases made before received the customers module's default
-- grants without it, so the seeded roles get it here: 销售总监 and 销售经理 approve, 销售代表 and
-- 只读 do not. (Fresh databases get the same from the permission catalog; ON CONFLICT keeps both.)
INSERT INTO role_permissions (role_id, module, action)
SELECT r.id, m.module, 'approve'
  FROM roles r CROSS JOIN (VALUES ('customers'), ('contracts'), ('payments')) AS m(module)
 WHERE r.code IN ('director', 'manager')
ON CONFLICT DO NOTHING;

-- 销售总监 approves too now (销售经理's "可审批" already says so); an admin-edited text stays.
UPDATE roles SET description = '查看全部数据，可审批' WHERE code = 'director' AND description = '查看全部数据';
