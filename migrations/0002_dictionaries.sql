-- Dictionaries (数据字典): admin-maintained option lists that every module picks values from
-- (see src/dicts). Records hold a dict_items id through a foreign key; an item in use can be
-- disabled but not deleted.

CREATE TABLE dicts (
  code     text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
  name_zh  text NOT NULL CHECK (btrim(name_zh) <> ''),
  name_en  text NOT NULL CHECK (btrim(name_en) <> ''),
  -- Items have parents (customer category, region).
  is_tree  boolean NOT NULL DEFAULT false,
  -- The extra attributes each item carries:
  -- [{"key": "...", "type": "bool|int|decimal|text", "label_zh": "...", "label_en": "..."}]
  extras   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(extras) = 'array'),
  position int NOT NULL
);

CREATE TABLE dict_items (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dict       text NOT NULL REFERENCES dicts(code),
  parent_id  bigint REFERENCES dict_items(id),
  -- Stable key of seeded items that code may look up; NULL for admin-made items.
  code       text,
  label_zh   text NOT NULL CHECK (btrim(label_zh) <> ''),
  label_en   text NOT NULL CHECK (btrim(label_en) <> ''),
  -- Order among siblings (flat dictionaries: among all items).
  position   int NOT NULL,
  enabled    boolean NOT NULL DEFAULT true,
  -- Values of the dictionary's extras, e.g. {"can_freeze": true}, {"credit_limit": "500000.00"}.
  extra      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(extra) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (dict, code),
  CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX dict_items_order ON dict_items (dict, position);
CREATE INDEX dict_items_parent ON dict_items (parent_id);
CREATE TRIGGER dict_items_touch BEFORE UPDATE ON dict_items FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

INSERT INTO dicts (code, name_zh, name_en, is_tree, extras, position) VALUES
  ('customer_status',    '客户状态', 'Customer status', false,
   '[{"key": "can_freeze", "type": "bool", "label_zh": "可冻结", "label_en": "Can be frozen"}]', 1),
  ('customer_category',  '客户分类', 'Customer category', true, '[]', 2),
  ('industry',           '所属行业', 'Industry', false, '[]', 3),
  ('customer_source',    '客户来源', 'Customer source', false, '[]', 4),
  ('company_size',       '企业规模', 'Company size', false, '[]', 5),
  ('region',             '所在地区', 'Region', true, '[]', 6),
  ('value_rating',       '价值评级', 'Value rating', false, '[]', 7),
  ('credit_level',       '信用等级', 'Credit level', false,
   '[{"key": "credit_limit", "type": "decimal", "label_zh": "信用额度", "label_en": "Credit limit"},
     {"key": "credit_period_days", "type": "int", "label_zh": "账期（天）", "label_en": "Credit period (days)"}]', 8),
  ('importance',         '重要程度', 'Importance', false, '[]', 9),
  ('relationship_level', '关系等级', 'Relationship level', false, '[]', 10),
  ('service_stage',      '服务阶段', 'Service stage', false, '[]', 11),
  ('customer_group',     '客户分组', 'Customer group', false, '[]', 12),
  ('followup_method',    '跟进方式', 'Follow-up method', false, '[]', 13),
  ('salutation',         '称谓', 'Salutation', false, '[]', 14),
  ('address_type',       '地址类型', 'Address type', false, '[]', 15),
  ('contact_method',     '联系方式', 'Contact method', false, '[]', 16),
  ('payment_method',     '付款方式', 'Payment method', false, '[]', 17),
  ('contract_type',      '合同类型', 'Contract type', false, '[]', 18),
  ('lead_source',        '线索来源', 'Lead source', false, '[]', 19),
  ('lost_reason',        '输单原因', 'Lost reason', false, '[]', 20);

-- Customer status, lowest first: new customers start at the first one; freezing is allowed from
-- 潜在客户 up.
INSERT INTO dict_items (dict, code, label_zh, label_en, position, extra) VALUES
  ('customer_status', 'invalid',   '无效客户', 'Invalid',           1, '{"can_freeze": false}'),
  ('customer_status', 'basic',     '基础客户', 'Basic',             2, '{"can_freeze": false}'),
  ('customer_status', 'potential', '潜在客户', 'Potential',         3, '{"can_freeze": true}'),
  ('customer_status', 'success',   '成功客户', 'Won',               4, '{"can_freeze": true}'),
  ('customer_status', 'partner',   '战略伙伴', 'Strategic partner', 5, '{"can_freeze": true}');

INSERT INTO dict_items (dict, code, label_zh, label_en, position, extra) VALUES
  ('credit_level', 'a', 'A 级（优秀）', 'A (excellent)', 1, '{"credit_limit": "500000.00", "credit_period_days": 90}'),
  ('credit_level', 'b', 'B 级（良好）', 'B (good)',      2, '{"credit_limit": "200000.00", "credit_period_days": 60}'),
  ('credit_level', 'c', 'C 级（一般）', 'C (fair)',      3, '{"credit_limit": "50000.00", "credit_period_days": 30}'),
  ('credit_level', 'd', 'D 级（较差）', 'D (poor)',      4, '{"credit_limit": "0.00", "credit_period_days": 0}');

-- Customer category: a tree.
INSERT INTO dict_items (dict, code, label_zh, label_en, position) VALUES
  ('customer_category', 'prospect', '潜在客户',         'Prospect',                   1),
  ('customer_category', 'formal',   '正式客户',         'Customer',                   2),
  ('customer_category', 'lost',     '流失客户',         'Lost customer',              3),
  ('customer_category', 'channel',  '报备客户（渠道）', 'Registered by channel partner', 4);
INSERT INTO dict_items (dict, parent_id, code, label_zh, label_en, position)
SELECT 'customer_category', p.id, v.code, v.zh, v.en, v.pos
  FROM (VALUES
    ('prospect', 'prospect_early',  '初期意向', 'Early interest',    1),
    ('prospect', 'prospect_medium', '中期意向', 'Moderate interest', 2),
    ('prospect', 'prospect_strong', '较强意向', 'Strong interest',   3),
    ('formal',   'new',             '新客户',   'New customer',      1),
    ('formal',   'hot',             '热点客户', 'Hot customer',      2),
    ('formal',   'key',             '核心客户', 'Key customer',      3),
    ('formal',   'vip',             'VIP客户',  'VIP customer',      4)
  ) AS v(parent, code, zh, en, pos)
  JOIN dict_items p ON p.dict = 'customer_category' AND p.code = v.parent;

-- Region: provincial-level divisions → major cities, coded with the national administrative
-- division codes (GB/T 2260). Municipalities and special administrative regions are leaves.
INSERT INTO dict_items (dict, code, label_zh, label_en, position) VALUES
  ('region', '110000', '北京',   'Beijing',        1),
  ('region', '120000', '天津',   'Tianjin',        2),
  ('region', '130000', '河北',   'Hebei',          3),
  ('region', '140000', '山西',   'Shanxi',         4),
  ('region', '150000', '内蒙古', 'Inner Mongolia', 5),
  ('region', '210000', '辽宁',   'Liaoning',       6),
  ('region', '220000', '吉林',   'Jilin',          7),
  ('region', '230000', '黑龙江', 'Heilongjiang',   8),
  ('region', '310000', '上海',   'Shanghai',       9),
  ('region', '320000', '江苏',   'Jiangsu',        10),
  ('region', '330000', '浙江',   'Zhejiang',       11),
  ('region', '340000', '安徽',   'Anhui',          12),
  ('region', '350000', '福建',   'Fujian',         13),
  ('region', '360000', '江西',   'Jiangxi',        14),
  ('region', '370000', '山东',   'Shandong',       15),
  ('region', '410000', '河南',   'Henan',          16),
  ('region', '420000', '湖北',   'Hubei',          17),
  ('region', '430000', '湖南',   'Hunan',          18),
  ('region', '440000', '广东',   'Guangdong',      19),
  ('region', '450000', '广西',   'Guangxi',        20),
  ('region', '460000', '海南',   'Hainan',         21),
  ('region', '500000', '重庆',   'Chongqing',      22),
  ('region', '510000', '四川',   'Sichuan',        23),
  ('region', '520000', '贵州',   'Guizhou',        24),
  ('region', '530000', '云南',   'Yunnan',         25),
  ('region', '540000', '西藏',   'Xizang (Tibet)', 26),
  ('region', '610000', '陕西',   'Shaanxi',        27),
  ('region', '620000', '甘肃',   'Gansu',          28),
  ('region', '630000', '青海',   'Qinghai',        29),
  ('region', '640000', '宁夏',   'Ningxia',        30),
  ('region', '650000', '新疆',   'Xinjiang',       31),
  ('region', '710000', '台湾',   'Taiwan',         32),
  ('region', '810000', '香港',   'Hong Kong',      33),
  ('region', '820000', '澳门',   'Macao',          34);
INSERT INTO dict_items (dict, parent_id, code, label_zh, label_en, position)
SELECT 'region', p.id, v.code, v.zh, v.en, v.pos
  FROM (VALUES
    ('130000', '130100', '石家庄',   'Shijiazhuang', 1),
    ('130000', '130200', '唐山',     'Tangshan',     2),
    ('130000', '130600', '保定',     'Baoding',      3),
    ('140000', '140100', '太原',     'Taiyuan',      1),
    ('140000', '140200', '大同',     'Datong',       2),
    ('150000', '150100', '呼和浩特', 'Hohhot',       1),
    ('150000', '150200', '包头',     'Baotou',       2),
    ('150000', '150600', '鄂尔多斯', 'Ordos',        3),
    ('210000', '210100', '沈阳',     'Shenyang',     1),
    ('210000', '210200', '大连',     'Dalian',       2),
    ('220000', '220100', '长春',     'Changchun',    1),
    ('220000', '220200', '吉林',     'Jilin City',   2),
    ('230000', '230100', '哈尔滨',   'Harbin',       1),
    ('230000', '230600', '大庆',     'Daqing',       2),
    ('320000', '320100', '南京',     'Nanjing',      1),
    ('320000', '320500', '苏州',     'Suzhou',       2),
    ('320000', '320200', '无锡',     'Wuxi',         3),
    ('320000', '320400', '常州',     'Changzhou',    4),
    ('330000', '330100', '杭州',     'Hangzhou',     1),
    ('330000', '330200', '宁波',     'Ningbo',       2),
    ('330000', '330300', '温州',     'Wenzhou',      3),
    ('340000', '340100', '合肥',     'Hefei',        1),
    ('340000', '340200', '芜湖',     'Wuhu',         2),
    ('350000', '350100', '福州',     'Fuzhou',       1),
    ('350000', '350200', '厦门',     'Xiamen',       2),
    ('350000', '350500', '泉州',     'Quanzhou',     3),
    ('360000', '360100', '南昌',     'Nanchang',     1),
    ('360000', '360700', '赣州',     'Ganzhou',      2),
    ('370000', '370100', '济南',     'Jinan',        1),
    ('370000', '370200', '青岛',     'Qingdao',      2),
    ('370000', '370600', '烟台',     'Yantai',       3),
    ('370000', '370700', '潍坊',     'Weifang',      4),
    ('410000', '410100', '郑州',     'Zhengzhou',    1),
    ('410000', '410300', '洛阳',     'Luoyang',      2),
    ('420000', '420100', '武汉',     'Wuhan',        1),
    ('420000', '420500', '宜昌',     'Yichang',      2),
    ('420000', '420600', '襄阳',     'Xiangyang',    3),
    ('430000', '430100', '长沙',     'Changsha',     1),
    ('430000', '430200', '株洲',     'Zhuzhou',      2),
    ('440000', '440100', '广州',     'Guangzhou',    1),
    ('440000', '440300', '深圳',     'Shenzhen',     2),
    ('440000', '441900', '东莞',     'Dongguan',     3),
    ('440000', '440600', '佛山',     'Foshan',       4),
    ('450000', '450100', '南宁',     'Nanning',      1),
    ('450000', '450200', '柳州',     'Liuzhou',      2),
    ('450000', '450300', '桂林',     'Guilin',       3),
    ('460000', '460100', '海口',     'Haikou',       1),
    ('460000', '460200', '三亚',     'Sanya',        2),
    ('510000', '510100', '成都',     'Chengdu',      1),
    ('510000', '510700', '绵阳',     'Mianyang',     2),
    ('520000', '520100', '贵阳',     'Guiyang',      1),
    ('520000', '520300', '遵义',     'Zunyi',        2),
    ('530000', '530100', '昆明',     'Kunming',      1),
    ('530000', '530300', '曲靖',     'Qujing',       2),
    ('540000', '540100', '拉萨',     'Lhasa',        1),
    ('540000', '540200', '日喀则',   'Shigatse',     2),
    ('610000', '610100', '西安',     'Xi''an',       1),
    ('610000', '610400', '咸阳',     'Xianyang',     2),
    ('620000', '620100', '兰州',     'Lanzhou',      1),
    ('620000', '620500', '天水',     'Tianshui',     2),
    ('630000', '630100', '西宁',     'Xining',       1),
    ('630000', '630200', '海东',     'Haidong',      2),
    ('640000', '640100', '银川',     'Yinchuan',     1),
    ('640000', '640200', '石嘴山',   'Shizuishan',   2),
    ('650000', '650100', '乌鲁木齐', 'Urumqi',       1),
    ('650000', '650200', '克拉玛依', 'Karamay',      2)
  ) AS v(parent, code, zh, en, pos)
  JOIN dict_items p ON p.dict = 'region' AND p.code = v.parent;

-- The flat dictionaries.
INSERT INTO dict_items (dict, code, label_zh, label_en, position)
SELECT v.dict, v.code, v.zh, v.en, v.pos
  FROM (VALUES
    ('industry', 'it',            'IT/互联网',     'IT & internet',           1),
    ('industry', 'manufacturing', '制造业',        'Manufacturing',           2),
    ('industry', 'finance',       '金融/保险',     'Finance & insurance',     3),
    ('industry', 'real_estate',   '房地产',        'Real estate',             4),
    ('industry', 'construction',  '建筑/工程',     'Construction',            5),
    ('industry', 'retail',        '零售/批发',     'Retail & wholesale',      6),
    ('industry', 'trade',         '贸易/进出口',   'Trade & import/export',   7),
    ('industry', 'logistics',     '物流/运输',     'Logistics & transport',   8),
    ('industry', 'energy',        '能源/化工',     'Energy & chemicals',      9),
    ('industry', 'telecom',       '通信/电子',     'Telecom & electronics',   10),
    ('industry', 'healthcare',    '医疗/医药',     'Healthcare & pharma',     11),
    ('industry', 'education',     '教育/培训',     'Education & training',    12),
    ('industry', 'media',         '文化/传媒',     'Media & culture',         13),
    ('industry', 'hospitality',   '餐饮/酒店/旅游', 'Hospitality & travel',   14),
    ('industry', 'agriculture',   '农林牧渔',      'Agriculture',             15),
    ('industry', 'services',      '专业服务',      'Professional services',   16),
    ('industry', 'government',    '政府/事业单位', 'Government & public sector', 17),
    ('industry', 'other',         '其他',          'Other',                   18),

    ('customer_source', 'cold_call',    '电话营销',   'Cold call',          1),
    ('customer_source', 'online',       '网络推广',   'Online marketing',   2),
    ('customer_source', 'website',      '官网咨询',   'Website inquiry',    3),
    ('customer_source', 'referral',     '客户介绍',   'Customer referral',  4),
    ('customer_source', 'self',         '独立开发',   'Self-sourced',       5),
    ('customer_source', 'trade_show',   '展会',       'Trade show',         6),
    ('customer_source', 'event',        '市场活动',   'Marketing event',    7),
    ('customer_source', 'partner',      '渠道代理',   'Channel partner',    8),
    ('customer_source', 'advertising',  '媒体广告',   'Advertising',        9),
    ('customer_source', 'other',        '其他',       'Other',              10),

    ('company_size', 'lt20',       '20人以下',     'Under 20 employees',   1),
    ('company_size', '20_99',      '20-99人',      '20–99 employees',      2),
    ('company_size', '100_499',    '100-499人',    '100–499 employees',    3),
    ('company_size', '500_999',    '500-999人',    '500–999 employees',    4),
    ('company_size', '1000_9999',  '1000-9999人',  '1,000–9,999 employees', 5),
    ('company_size', '10000_plus', '10000人以上',  '10,000+ employees',    6),

    ('value_rating', 'high',   '高价值', 'High value',   1),
    ('value_rating', 'medium', '中价值', 'Medium value', 2),
    ('value_rating', 'low',    '低价值', 'Low value',    3),

    ('importance', 'critical', '非常重要', 'Critical',  1),
    ('importance', 'high',     '重要',     'Important', 2),
    ('importance', 'normal',   '一般',     'Normal',    3),
    ('importance', 'low',      '不重要',   'Low',       4),

    ('relationship_level', 'close',   '密切',   'Close',        1),
    ('relationship_level', 'good',    '良好',   'Good',         2),
    ('relationship_level', 'normal',  '一般',   'Ordinary',     3),
    ('relationship_level', 'distant', '疏远',   'Distant',      4),

    ('service_stage', 'presales',  '售前',       'Pre-sales',          1),
    ('service_stage', 'contract',  '合同执行期', 'Contract execution', 2),
    ('service_stage', 'aftersales', '售后',      'After-sales',        3),

    ('customer_group', 'key_account', '大客户',     'Key accounts',      1),
    ('customer_group', 'smb',         '中小客户',   'SMB customers',     2),
    ('customer_group', 'agent',       '代理商',     'Resellers',         3),
    ('customer_group', 'partner',     '合作伙伴',   'Partners',          4),
    ('customer_group', 'public',      '政企客户',   'Government & SOE',  5),

    ('followup_method', 'phone',   '电话',     'Phone call', 1),
    ('followup_method', 'email',   '邮件',     'Email',      2),
    ('followup_method', 'visit',   '上门拜访', 'Visit',      3),
    ('followup_method', 'sms',     '短信',     'SMS',        4),
    ('followup_method', 'wechat',  '微信',     'WeChat',     5),
    ('followup_method', 'meeting', '会议',     'Meeting',    6),

    ('salutation', 'mr',   '先生', 'Mr.',   1),
    ('salutation', 'ms',   '女士', 'Ms.',   2),
    ('salutation', 'dr',   '博士', 'Dr.',   3),
    ('salutation', 'prof', '教授', 'Prof.', 4),

    ('address_type', 'office',     '办公地址', 'Office',             1),
    ('address_type', 'registered', '注册地址', 'Registered address', 2),
    ('address_type', 'billing',    '开票地址', 'Billing address',    3),
    ('address_type', 'shipping',   '收货地址', 'Shipping address',   4),
    ('address_type', 'home',       '家庭住址', 'Home',               5),

    ('contact_method', 'mobile', '手机',     'Mobile',   1),
    ('contact_method', 'phone',  '固定电话', 'Landline', 2),
    ('contact_method', 'email',  '邮箱',     'Email',    3),
    ('contact_method', 'wechat', '微信',     'WeChat',   4),
    ('contact_method', 'qq',     'QQ',       'QQ',       5),
    ('contact_method', 'fax',    '传真',     'Fax',      6),

    ('payment_method', 'bank_transfer',  '银行转账',     'Bank transfer',          1),
    ('payment_method', 'acceptance_bill', '银行承兑汇票', 'Bank acceptance bill', 2),
    ('payment_method', 'cheque',         '支票',         'Cheque',                 3),
    ('payment_method', 'cash',           '现金',         'Cash',                   4),
    ('payment_method', 'alipay',         '支付宝',       'Alipay',                 5),
    ('payment_method', 'wechat_pay',     '微信支付',     'WeChat Pay',             6),
    ('payment_method', 'other',          '其他',         'Other',                  7),

    ('contract_type', 'sales',       '销售合同', 'Sales contract',        1),
    ('contract_type', 'service',     '服务合同', 'Service contract',      2),
    ('contract_type', 'framework',   '框架协议', 'Framework agreement',   3),
    ('contract_type', 'maintenance', '维保合同', 'Maintenance contract',  4),
    ('contract_type', 'agency',      '代理合同', 'Distribution contract', 5),
    ('contract_type', 'other',       '其他',     'Other',                 6),

    ('lead_source', 'website',     '官网注册',   'Website sign-up',  1),
    ('lead_source', 'search',      '搜索引擎',   'Search engine',    2),
    ('lead_source', 'social',      '社交媒体',   'Social media',     3),
    ('lead_source', 'inbound',     '来电咨询',   'Inbound call',     4),
    ('lead_source', 'trade_show',  '展会',       'Trade show',       5),
    ('lead_source', 'event',       '市场活动',   'Marketing event',  6),
    ('lead_source', 'referral',    '客户推荐',   'Referral',         7),
    ('lead_source', 'list',        '名单导入',   'Purchased list',   8),
    ('lead_source', 'other',       '其他',       'Other',            9),

    ('lost_reason', 'price',       '价格过高',       'Price too high',           1),
    ('lost_reason', 'product_fit', '产品不满足需求', 'Product does not fit',     2),
    ('lost_reason', 'competitor',  '选择了竞争对手', 'Chose a competitor',       3),
    ('lost_reason', 'budget',      '预算不足',       'No budget',                4),
    ('lost_reason', 'cancelled',   '项目取消',       'Project cancelled',        5),
    ('lost_reason', 'delayed',     '决策延期',       'Decision postponed',       6),
    ('lost_reason', 'unreachable', '联系不上',       'Could not reach customer', 7),
    ('lost_reason', 'other',       '其他',           'Other',                    8)
  ) AS v(dict, code, zh, en, pos);
