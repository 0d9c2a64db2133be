//! `crm seed --scale N`: a realistic, internally consistent data set for benchmarks.
//!
//! At N = 1: 2,000 users in 200 departments (a CEO, 20 regions, 179 sales departments, a
//! manager chain), 1M customers, ~3M contacts, ~5M follow-ups, 1M leads, 2,000 products in 100
//! categories, 300,000 opportunities (a third open) with 1–5 product lines each, and 200,000
//! contracts (most approved, some from won opportunities) with 1–3 lines, 1–4 payment plan
//! terms each and ~300,000 payments, the customers' receivables, deal state and a few credit
//! limits following from them; 1M tasks (most done), 500,000 schedule entries (some repeating)
//! and 200,000 work logs sent to their authors' superiors. Fractional N scales everything down.
//! Data is skewed like real data: a few reps own far more than others, recent records dominate,
//! most customers were followed up at some point.
//!
//! Everything is set-based SQL (`INSERT ... SELECT generate_series`), with the big tables'
//! secondary indexes dropped during the load and rebuilt after, then ANALYZE.

use std::time::Instant;

use anyhow::{Context, bail};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::auth::password;

/// What the generator makes, versioned: the benchmark regenerates a data set made by an older
/// one (2: products and opportunities; 3: contracts, payment plans and payments; 4: tasks,
/// schedule entries and work logs).
pub const GENERATOR: u32 = 4;

/// The password of every generated user (logins b0001, b0002, ...).
pub const PASSWORD: &str = "bench1234";

pub struct Sizes {
    pub users: i64,
    pub depts: i64,
    pub regions: i64,
    pub customers: i64,
    pub leads: i64,
    pub products: i64,
    /// Product categories generated under the seeded top ones (the migration seeds nine).
    pub categories: i64,
    pub opportunities: i64,
    pub contracts: i64,
    pub events: i64,
}

impl Sizes {
    pub fn for_scale(n: f64) -> Sizes {
        let r = |x: f64, min: i64| ((x * n).round() as i64).max(min);
        let depts = r(200.0, 6);
        Sizes {
            users: r(2000.0, 30),
            depts,
            regions: (depts / 10).max(2),
            customers: r(1_000_000.0, 100),
            leads: r(1_000_000.0, 100),
            products: r(2_000.0, 50),
            categories: r(91.0, 3),
            opportunities: r(300_000.0, 100),
            contracts: r(200_000.0, 50),
            events: r(500_000.0, 100),
        }
    }
}

const BIG_TABLES: &[&str] = &[
    "customers",
    "contacts",
    "followups",
    "leads",
    "opportunities",
    "opportunity_lines",
    "contracts",
    "contract_lines",
    "payment_plans",
    "payments",
    "tasks",
    "task_participants",
    "worklogs",
    "worklog_recipients",
    "events",
    "event_participants",
];

pub async fn seed(db: &PgPool, scale: f64) -> anyhow::Result<()> {
    if !(scale > 0.0 && scale <= 10.0) {
        bail!("--scale must be between 0 and 10");
    }
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(db).await?;
    if existing > 0 {
        bail!("the database already has customers; generate into an empty (migrated) database");
    }
    let sizes = Sizes::for_scale(scale);
    let hash = password::hash(PASSWORD.to_string()).await?;
    // One transaction: a failed run leaves nothing behind. Long statements are the point here,
    // so sqlx's slow-statement warnings are off on this connection.
    let opts = db
        .connect_options()
        .as_ref()
        .clone()
        .log_slow_statements(log::LevelFilter::Off, std::time::Duration::from_secs(3600))
        .log_statements(log::LevelFilter::Off);
    let mut conn_owned = PgConnection::connect_with(&opts).await?;
    let mut conn = conn_owned.begin().await?;
    for s in [
        "SET synchronous_commit = off",
        "SET maintenance_work_mem = '1GB'",
        "SET max_parallel_maintenance_workers = 2",
        "SET work_mem = '256MB'",
    ] {
        sqlx::query(s).execute(&mut *conn).await?;
    }
    sqlx::query("SELECT setseed(0.4242)").execute(&mut *conn).await?;

    step("organisation", org(&mut conn, &sizes, &hash)).await?;
    let dropped = step("drop indexes", drop_indexes(&mut conn)).await?;
    // Per-row count triggers would double the load time; the totals are recounted at the end
    // (and contract_sums rebuilt). Payment plans' only trigger stamps updated_at, which the
    // generator sets itself; payments' owner_split stays false (a payment is owned by its
    // contract's owner here).
    let counted = [
        ("customers", "customer"),
        ("contacts", "contact"),
        ("leads", "lead"),
        ("opportunities", "opportunity"),
        ("contracts", "contract"),
        ("payments", "payment"),
        ("tasks", "task"),
        ("worklogs", "worklog"),
        ("events", "event"),
    ];
    let quiet: Vec<&str> = counted.iter().map(|(t, _)| *t).chain(["payment_plans"]).collect();
    for t in &quiet {
        sqlx::query(&format!("ALTER TABLE {t} DISABLE TRIGGER USER")).execute(&mut *conn).await?;
    }
    step("customers", customers(&mut conn, sizes.customers)).await?;
    step("public pool", pool(&mut conn)).await?;
    step("contacts", contacts(&mut conn)).await?;
    step("follow-ups", followups(&mut conn)).await?;
    step("leads", generate_leads(&mut conn, sizes.leads)).await?;
    step("products", products(&mut conn, sizes.categories, sizes.products)).await?;
    step("opportunities", opportunities(&mut conn, sizes.opportunities)).await?;
    step("contracts", contracts(&mut conn, sizes.contracts)).await?;
    step("plans, payments", payments(&mut conn)).await?;
    step("receivables", receivables(&mut conn)).await?;
    step("tasks", super::scale_tasks::generate(&mut conn, (1_000_000.0 * scale).round() as i64)).await?;
    step("work logs", super::scale_worklogs::generate(&mut conn, (200_000.0 * scale).round() as i64)).await?;
    step("schedule", super::scale_schedule::seed(&mut conn, sizes.events)).await?;
    step("rebuild indexes", rebuild_indexes(&mut conn, &dropped)).await?;
    step("owner totals", async {
        for t in &quiet {
            sqlx::query(&format!("ALTER TABLE {t} ENABLE TRIGGER USER")).execute(&mut *conn).await?;
        }
        for (t, e) in counted {
            sqlx::query("DELETE FROM owner_counts WHERE entity = $1").bind(e).execute(&mut *conn).await?;
            sqlx::query(&format!(
                "INSERT INTO owner_counts (entity, owner_id, n)
                 SELECT $1, coalesce(owner_id, 0), count(*) FROM {t} WHERE deleted_at IS NULL GROUP BY 2"
            ))
            .bind(e)
            .execute(&mut *conn)
            .await?;
        }
        opportunity_sums(&mut conn).await?;
        contract_sums(&mut conn).await?;
        payment_sums(&mut conn).await
    })
    .await?;
    step("analyze", async {
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
        Ok(())
    })
    .await?;
    for (key, value) in [("scale", scale.to_string()), ("scale_generator", GENERATOR.to_string())] {
        sqlx::query(
            "INSERT INTO app_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    }
    conn.commit().await?;
    conn_owned.close().await?;
    // The generated names carry no (or a provisional) comparison key: only Rust computes them.
    step("name keys", async { Ok(crate::records::normalize::rekey(db, true).await?) }).await?;
    Ok(())
}

async fn step<T>(name: &str, f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let t = Instant::now();
    let out = f.await.with_context(|| format!("generating {name}"))?;
    println!("  {name:<16} {:>7.1} s", t.elapsed().as_secs_f64());
    Ok(out)
}

/// Departments: root → regions → sales departments; users: a CEO, a head per region and per
/// department (managers), and reps reporting to their department head.
async fn org(conn: &mut PgConnection, s: &Sizes, hash: &str) -> anyhow::Result<()> {
    let sql = r#"
WITH root AS (SELECT id FROM departments WHERE parent_id IS NULL ORDER BY id LIMIT 1),
regions AS (
  INSERT INTO departments (name, parent_id)
  SELECT (ARRAY['华东','华北','华南','华中','西南','西北','东北','京津','长三角','珠三角'])[1 + (r - 1) % 10]
         || CASE WHEN r > 10 THEN (r / 10 + 1)::text ELSE '' END || '大区', (SELECT id FROM root)
  FROM generate_series(1, $1::int) r RETURNING id)
INSERT INTO departments (name, parent_id)
SELECT (ARRAY['上海','杭州','南京','苏州','宁波','北京','天津','石家庄','济南','青岛','广州','深圳','东莞','佛山','武汉',
              '长沙','郑州','成都','重庆','昆明','西安','兰州','沈阳','大连','长春','哈尔滨','合肥','福州','厦门','南昌'])[1 + d % 30]
       || '销售' || (ARRAY['一','二','三','四','五','六','七','八','九','十'])[1 + (d / 30) % 10] || '部',
       (SELECT id FROM regions ORDER BY id OFFSET (d % $1::int) LIMIT 1)
FROM generate_series(0, $2::int - 1) d"#;
    sqlx::query(sql).bind(s.regions as i32).bind((s.depts - s.regions - 1).max(1) as i32).execute(&mut *conn).await?;

    // CEO.
    let root: i64 = sqlx::query_scalar("SELECT id FROM departments WHERE parent_id IS NULL ORDER BY id LIMIT 1")
        .fetch_one(&mut *conn)
        .await?;
    let ceo: i64 = sqlx::query_scalar(
        "INSERT INTO users (login, name, dept_id, position, password_hash) VALUES ('b0000', '总经理', $1, '总经理', $2) RETURNING id",
    )
    .bind(root)
    .bind(hash)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE code = 'director'")
        .bind(ceo)
        .execute(&mut *conn)
        .await?;
    // One head per department (regions report to the CEO, departments to their region head).
    let heads = r#"
INSERT INTO users (login, name, dept_id, position, password_hash)
SELECT 'h' || lpad(d.id::text, 5, '0'), d.name || '负责人', d.id,
       CASE WHEN d.parent_id = $1 THEN '大区总监' ELSE '销售经理' END, $2
FROM departments d WHERE d.parent_id IS NOT NULL ORDER BY d.id"#;
    sqlx::query(heads).bind(root).bind(hash).execute(&mut *conn).await?;
    sqlx::query("UPDATE departments d SET head_id = u.id FROM users u WHERE u.login = 'h' || lpad(d.id::text, 5, '0')")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE users u SET superior_id = CASE WHEN d.parent_id = $1 THEN $2 ELSE p.head_id END
         FROM departments d LEFT JOIN departments p ON p.id = d.parent_id
         WHERE u.dept_id = d.id AND u.login LIKE 'h%'",
    )
    .bind(root)
    .bind(ceo)
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO user_roles (user_id, role_id) SELECT u.id, r.id FROM users u, roles r WHERE u.login LIKE 'h%' AND r.code = 'manager'")
        .execute(&mut *conn)
        .await?;
    // Reps, spread over the sales departments, each reporting to the department head.
    let heads_count: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *conn).await?;
    let reps = (s.users - heads_count).max(s.depts);
    let reps_sql = r#"
WITH sales AS (SELECT id, head_id, row_number() OVER (ORDER BY id) - 1 AS n
               FROM departments WHERE parent_id IS NOT NULL AND parent_id <> $1),
cnt AS (SELECT count(*) AS c FROM sales)
INSERT INTO users (login, mobile, name, dept_id, superior_id, position, password_hash)
SELECT 'b' || lpad(i::text, 4, '0'), '139' || lpad((10000000 + i * 7919 % 89999999)::text, 8, '0'),
       (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','何','高','林','罗'])[1 + i % 20]
       || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','秀英','霞','平','刚','桂英'])[1 + (i / 20) % 22]
       || CASE WHEN i > 440 THEN (i / 440)::text ELSE '' END,
       s.id, s.head_id, '销售代表', $2
FROM generate_series(1, $3::int) i CROSS JOIN cnt JOIN sales s ON s.n = (i % cnt.c)"#;
    sqlx::query(reps_sql).bind(root).bind(hash).bind(reps as i32).execute(&mut *conn).await?;
    sqlx::query("INSERT INTO user_roles (user_id, role_id) SELECT u.id, r.id FROM users u, roles r WHERE u.login ~ '^b[0-9]{4}$' AND u.login <> 'b0000' AND r.code = 'rep'")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drop the secondary indexes of the big tables; returns their definitions for the rebuild.
async fn drop_indexes(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let defs: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
         JOIN pg_class c ON c.relname = i.indexname
         JOIN pg_index x ON x.indexrelid = c.oid
         WHERE i.schemaname = 'public' AND i.tablename = ANY($1) AND NOT x.indisprimary
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)",
    )
    .bind(BIG_TABLES)
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &defs {
        sqlx::query(&format!("DROP INDEX \"{name}\"")).execute(&mut *conn).await?;
    }
    Ok(defs.into_iter().map(|(_, d)| d).collect())
}

async fn rebuild_indexes(conn: &mut PgConnection, defs: &[String]) -> anyhow::Result<()> {
    for d in defs {
        let t = Instant::now();
        sqlx::query(d).execute(&mut *conn).await.with_context(|| d.clone())?;
        // The slow ones, so a change that makes an index expensive to build shows.
        if t.elapsed().as_secs() >= 10 {
            let name = d.split_whitespace().skip_while(|w| *w != "INDEX").nth(1).unwrap_or(d);
            println!("    {name:<28} {:>5.1} s", t.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

/// Customers with skewed owners, recent-heavy dates, varied names, phones, regions, industries.
async fn customers(conn: &mut PgConnection, n: i64) -> anyhow::Result<()> {
    let sql = r#"
WITH reps AS (SELECT array_agg(id ORDER BY id) AS a FROM users WHERE login ~ '^b[0-9]{4}$' AND login <> 'b0000'),
d AS (SELECT
  (SELECT array_agg(id ORDER BY position) FROM dict_items WHERE dict = 'customer_status') AS status,
  (SELECT array_agg(id ORDER BY position) FROM dict_items WHERE dict = 'industry') AS industry,
  (SELECT array_agg(id ORDER BY id) FROM dict_items WHERE dict = 'region' AND parent_id IS NOT NULL) AS city,
  (SELECT array_agg(id ORDER BY position) FROM dict_items WHERE dict = 'customer_source') AS source,
  (SELECT array_agg(id ORDER BY position) FROM dict_items WHERE dict = 'company_size') AS size,
  (SELECT array_agg(id ORDER BY position) FROM dict_items WHERE dict = 'customer_category' AND parent_id IS NOT NULL) AS category),
w AS (SELECT
  ARRAY['上海','北京','深圳','广州','杭州','南京','苏州','成都','武汉','西安','重庆','天津','青岛','宁波','厦门','长沙','郑州','合肥','济南','福州','无锡','东莞','佛山','昆明'] AS city,
  -- Brand names ("华信", "宏达"...) from 60 x 60 characters: as in real data, a given brand is
  -- shared by a few hundred companies of a million, not by one in forty.
  regexp_split_to_array('华宏恒金博新东瑞天鼎众明汇嘉中盛和安永宇腾卓凯联润海星远光振通立德美长银先未蓝绿富佳信兴隆泰丰源盈晨益鑫创启智锦宝欣豪', '') AS brand1,
  regexp_split_to_array('信达通桥远锐方丰成盛合德禾科世谐泰兴航飞越创泽纳辰明华利美城河锋来天源辉耀业诚邦晟隆祥瑞昌茂森林峰宸鸿翔凯豪力康', '') AS brand2,
  ARRAY['科技','网络','电子','机械','医药','物流','教育','建设','食品','传媒','新材料','能源','贸易','咨询','软件','环保','汽车配件','智能','生物','纺织'] AS trade,
  ARRAY['有限公司','股份有限公司','集团有限公司','科技有限公司','实业有限公司','贸易有限公司'] AS suffix),
g AS (SELECT i, random() AS r_owner, random() AS r_age, random() AS r_upd, random() AS r_fu, random() AS r_next,
             random() AS r1, random() AS r2, random() AS r3 FROM generate_series(1, $1::bigint) i)
INSERT INTO customers (code, name, name_norm, short_name, kind, category_id, status_id, level, source_id, industry_id,
                       region_id, size_id, phone, mobile, email, owner_id, locked, deal_status, last_followup_at,
                       next_contact_at, created_by, created_at, updated_at)
SELECT 'KB' || lpad(g.i::text, 9, '0'),
       x.name, x.name, x.brand || x.trade,
       CASE WHEN g.r1 < 0.08 THEN 'individual' ELSE 'enterprise' END,
       d.category[1 + (g.i % array_length(d.category, 1))],
       d.status[1 + least(floor(g.r2 * g.r2 * array_length(d.status, 1))::int, array_length(d.status, 1) - 1)],
       1 + (g.i % 7),
       d.source[1 + (g.i / 7) % array_length(d.source, 1)],
       d.industry[1 + floor(g.r3 * g.r3 * array_length(d.industry, 1))::int],
       d.city[1 + (g.i * 31) % array_length(d.city, 1)],
       d.size[1 + (g.i / 3) % array_length(d.size, 1)],
       '0' || (10 + g.i % 90)::text || '-' || lpad((g.i * 7919 % 100000000)::text, 8, '0'),
       '1' || (ARRAY['38','39','37','58','59','86','88','35'])[1 + g.i % 8] || lpad((g.i * 104729 % 100000000)::text, 8, '0'),
       CASE WHEN g.r1 < 0.4 THEN 'info' || g.i || '@example.cn' END,
       reps.a[1 + floor(g.r_owner * g.r_owner * array_length(reps.a, 1))::int],
       -- Dealt: set by the contracts step (customers with an approved contract).
       g.r2 > 0.98, 'none',
       CASE WHEN g.r_fu < 0.9 THEN x.created_at + (now() - x.created_at) * (0.3 + 0.7 * g.r_fu / 0.9) END,
       CASE WHEN g.r_next < 0.3 THEN now() + (g.r_next * 100) * interval '1 day' END,
       reps.a[1 + floor(g.r_owner * g.r_owner * array_length(reps.a, 1))::int],
       x.created_at, x.created_at + (now() - x.created_at) * g.r_upd
FROM g, reps, d, w,
LATERAL (SELECT hashint8(g.i) & 2147483647 AS h) hb,
LATERAL (SELECT w.brand1[1 + hb.h % array_length(w.brand1, 1)]
                  || w.brand2[1 + (hb.h / 97) % array_length(w.brand2, 1)] AS brand,
                w.trade[1 + (g.i * 7) % array_length(w.trade, 1)] AS trade) b,
LATERAL (SELECT b.brand, b.trade,
                w.city[1 + (g.i / 5) % array_length(w.city, 1)] || b.brand || b.trade
                  || CASE WHEN g.i > 19200 THEN (g.i % 997)::text ELSE '' END
                  || w.suffix[1 + g.i % array_length(w.suffix, 1)] AS name,
                now() - (g.r_age * g.r_age * g.r_age) * interval '1095 days' - interval '1 hour' AS created_at) x"#;
    sqlx::query(sql).bind(n).execute(conn).await?;
    Ok(())
}

/// One customer in 33 sits in the default pool: recycled for want of follow-ups or put back by
/// its previous owner within the last 90 days, with the release the reclaim cooldown reads.
async fn pool(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query(
        r#"UPDATE customers SET previous_owner_id = owner_id, owner_id = NULL, locked = false,
             pool_id = (SELECT id FROM pools WHERE is_default),
             pool_entered_at = greatest(created_at, now() - (id % 90) * interval '1 day' - interval '1 hour'),
             pool_reason = CASE WHEN id % 2 = 0 THEN '{"kind": "no_followup", "days": 30}'::jsonb
                                ELSE '{"kind": "put_back", "text": "客户暂无采购计划"}'::jsonb END
           WHERE id % 33 = 7"#,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO pool_releases (pool_id, customer_id, user_id, kind, actor_id, released_at)
         SELECT pool_id, id, previous_owner_id, CASE WHEN id % 2 = 0 THEN 'recycle' ELSE 'put_back' END,
                CASE WHEN id % 2 = 1 THEN previous_owner_id END, pool_entered_at
           FROM customers WHERE owner_id IS NULL",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One to five contacts per customer (three on average), the first one primary; those of pool
/// customers have no owner (contacts follow their customer into the pool).
async fn contacts(conn: &mut PgConnection) -> anyhow::Result<()> {
    let sql = r#"
INSERT INTO contacts (customer_id, name, gender, position, phone, mobile, email, decision_maker, is_primary, owner_id,
                      birthday, created_by, created_at, updated_at)
SELECT c.id,
       (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','何','高','林','罗','郑','梁','谢','宋','唐'])[1 + (c.id * 3 + k) % 25]
       || (ARRAY['经理','总','工','主任','老师','先生','女士','伟','芳','静','强','磊','洋','敏','婷','杰'])[1 + (c.id + k * 7) % 16],
       CASE WHEN (c.id + k) % 2 = 0 THEN 'male' ELSE 'female' END,
       (ARRAY['总经理','采购经理','技术总监','财务经理','行政主管','项目经理','销售总监','工程师'])[1 + (c.id + k) % 8],
       c.phone,
       '13' || lpad(((c.id * 7 + k) * 7919 % 1000000000)::text, 9, '0'),
       CASE WHEN k = 1 THEN 'contact' || c.id || '@example.cn' END,
       k = 1 AND c.id % 3 = 0, k = 1, c.owner_id,
       CASE WHEN (c.id + k) % 4 = 0 THEN date '1970-01-01' + ((c.id * 37 + k) % 12000)::int END,
       coalesce(c.owner_id, c.previous_owner_id), c.created_at, c.updated_at
FROM customers c, generate_series(1, 1 + (c.id * 2654435761 % 5)::int) k"#;
    sqlx::query(sql).execute(conn).await?;
    Ok(())
}

/// Follow-ups on customers that were followed up, the latest one at `last_followup_at`.
async fn followups(conn: &mut PgConnection) -> anyhow::Result<()> {
    let sql = r#"
WITH m AS (SELECT array_agg(id ORDER BY position) AS a FROM dict_items WHERE dict = 'followup_method'),
p AS (SELECT ARRAY['电话沟通了合作意向，客户需要内部讨论','上门拜访，介绍了新产品方案','发送了报价单，等待客户反馈',
                   '客户反馈价格偏高，约下周再谈','微信确认了需求细节','参加客户组织的技术交流会',
                   '客户同意试用，安排了演示','催收上期货款，客户承诺月底付清','节日问候，维护关系',
                   '了解到客户明年有扩产计划'] AS t)
INSERT INTO followups (entity, entity_id, customer_id, method_id, content, next_contact_at, created_by, created_at)
SELECT 'customer', c.id, c.id, m.a[1 + (c.id + k) % array_length(m.a, 1)], p.t[1 + (c.id * 7 + k) % 10],
       CASE WHEN k = 1 THEN c.next_contact_at END, coalesce(c.owner_id, c.previous_owner_id),
       c.last_followup_at - (k - 1) * ((c.last_followup_at - c.created_at) / 12)
FROM customers c, m, p,
     generate_series(1, 1 + floor(power(((c.id * 2246822519) % 1000) / 1000.0, 1.5) * 13)::int) k
WHERE c.last_followup_at IS NOT NULL"#;
    sqlx::query(sql).execute(conn).await?;
    Ok(())
}

/// Leads with the same skew as customers.
async fn generate_leads(conn: &mut PgConnection, n: i64) -> anyhow::Result<()> {
    let sql = r#"
WITH reps AS (SELECT array_agg(id ORDER BY id) AS a FROM users WHERE login ~ '^b[0-9]{4}$' AND login <> 'b0000'),
g AS (SELECT i, random() AS r, random() AS r2 FROM generate_series(1, $1::bigint) i)
INSERT INTO leads (name, phone, mobile, owner_id, created_by, created_at, updated_at, contact_name)
SELECT (ARRAY['苏州','无锡','常州','嘉兴','绍兴','温州','台州','金华','泉州','漳州'])[1 + g.i % 10]
       || (ARRAY['精密','智造','数码','云端','恒泰','嘉信','鑫源','华腾'])[1 + (g.i / 10) % 8]
       || (ARRAY['科技','电子','贸易','制造','服务'])[1 + (g.i / 80) % 5] || '有限公司',
       '0512-' || lpad((g.i * 7919 % 100000000)::text, 8, '0'),
       '15' || lpad((g.i * 104729 % 1000000000)::text, 9, '0'),
       reps.a[1 + floor(g.r * g.r * array_length(reps.a, 1))::int],
       reps.a[1 + floor(g.r * g.r * array_length(reps.a, 1))::int],
       now() - (g.r2 * g.r2) * interval '730 days', now() - (g.r2 * g.r2) * interval '700 days',
       (ARRAY['王','李','张','刘','陈'])[1 + g.i % 5] || (ARRAY['先生','女士','经理','总'])[1 + g.i % 4]
FROM g, reps"#;
    sqlx::query(sql).bind(n).execute(conn).await?;
    Ok(())
}

/// Product categories under the seeded top ones, and products in them: list prices from 100 to
/// 200,000, one in twenty off the shelf, each with the price history of its creation.
async fn products(conn: &mut PgConnection, categories: i64, n: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO dict_items (dict, parent_id, code, label_zh, label_en, position)
         SELECT 'product_category', p.id, 'gen' || i, p.label_zh || '类' || i, p.label_en || ' ' || i, 10 + i
           FROM generate_series(1, $1::int) i
           JOIN LATERAL (SELECT id, label_zh, label_en FROM dict_items
                          WHERE dict = 'product_category' AND parent_id IS NULL ORDER BY position OFFSET i % 3 LIMIT 1) p ON true",
    )
    .bind(categories as i32)
    .execute(&mut *conn)
    .await?;
    let sql = r#"
WITH cat AS (SELECT array_agg(id ORDER BY id) AS a FROM dict_items WHERE dict = 'product_category' AND parent_id IS NOT NULL),
unit AS (SELECT array_agg(id ORDER BY position) AS a FROM dict_items WHERE dict = 'product_unit')
INSERT INTO products (code, name, category_id, unit_id, price, cost_price, spec, on_shelf, created_at, updated_at)
SELECT 'CPB' || lpad(i::text, 6, '0'),
       (ARRAY['云','智','数','企','慧','联','易','捷'])[1 + i % 8] || (ARRAY['CRM','ERP','OA','BI','HR','SCM','MES','WMS'])[1 + (i / 8) % 8]
       || (ARRAY['标准版','专业版','旗舰版','服务器','终端','实施服务','运维服务','培训'])[1 + (i / 64) % 8] || ' ' || i,
       cat.a[1 + i % array_length(cat.a, 1)], unit.a[1 + i % array_length(unit.a, 1)],
       round((100 + (hashint4(i) & 65535) * 3.05)::numeric, -1), round((60 + (hashint4(i) & 65535) * 1.8)::numeric, -1),
       (ARRAY['标准配置','高配','年付','按用户','按台'])[1 + i % 5], i % 20 <> 0,
       now() - (i % 700) * interval '1 day', now() - (i % 300) * interval '1 day'
FROM generate_series(1, $1::int) i, cat, unit"#;
    sqlx::query(sql).bind(n as i32).execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO product_prices (product_id, price, cost_price, changed_at) SELECT id, price, cost_price, created_at FROM products",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Opportunities of owned customers, with their owner: a third open, spread over the default
/// group's stages and the months around today; the rest won, lost or invalid with a reason and
/// a close date. One to five lines each (three on average); the amount is the lines' total.
async fn opportunities(conn: &mut PgConnection, n: i64) -> anyhow::Result<()> {
    let sql = r#"
WITH st AS (SELECT array_agg(s.id ORDER BY s.position) AS a, min(s.group_id) AS g
              FROM stages s JOIN stage_groups g ON g.id = s.group_id AND g.is_default),
cu AS (SELECT min(id) AS lo, max(id) - min(id) + 1 AS span FROM customers),
rs AS (SELECT (SELECT array_agg(id) FROM dict_items WHERE dict = 'win_reason') AS won,
              (SELECT array_agg(id) FROM dict_items WHERE dict = 'lost_reason') AS lost,
              (SELECT array_agg(id) FROM dict_items WHERE dict = 'invalid_reason') AS invalid,
              (SELECT array_agg(id) FROM dict_items WHERE dict = 'opportunity_source') AS source,
              (SELECT array_agg(id) FROM dict_items WHERE dict = 'opportunity_type') AS kind),
g AS (SELECT i, random() AS r_status, random() AS r_age, random() AS r_stage, random() AS r_fu FROM generate_series(1, $1::bigint) i)
INSERT INTO opportunities (name, customer_id, expected_close, group_id, stage_id, status, closed_on, close_reason_id,
                           stage_changed_at, source_id, type_id, owner_id, last_followup_at, created_by, created_at, updated_at)
SELECT c.short_name || (ARRAY['系统采购','扩容','续约','升级项目','新项目','二期'])[1 + g.i % 6],
       c.id,
       CASE WHEN x.status = 'open' THEN current_date + (g.i % 300)::int - 60 ELSE x.created::date + 30 + (g.i % 60)::int END,
       st.g,
       st.a[1 + least(floor(g.r_stage * array_length(st.a, 1))::int, array_length(st.a, 1) - 1)],
       x.status,
       CASE WHEN x.status <> 'open' THEN least(current_date, x.created::date + 20 + (g.i % 90)::int) END,
       CASE x.status WHEN 'won' THEN rs.won[1 + g.i % array_length(rs.won, 1)]
                     WHEN 'lost' THEN rs.lost[1 + g.i % array_length(rs.lost, 1)]
                     WHEN 'invalid' THEN rs.invalid[1 + g.i % array_length(rs.invalid, 1)] END,
       x.created + (now() - x.created) * g.r_stage,
       rs.source[1 + g.i % array_length(rs.source, 1)], rs.kind[1 + (g.i / 5) % array_length(rs.kind, 1)],
       coalesce(c.owner_id, c.previous_owner_id),
       CASE WHEN g.r_fu < 0.7 THEN x.created + (now() - x.created) * g.r_fu END,
       coalesce(c.owner_id, c.previous_owner_id), x.created, x.created + (now() - x.created) * (0.5 + g.r_fu / 2)
FROM g, st, cu, rs,
LATERAL (SELECT CASE WHEN g.r_status < 0.34 THEN 'open' WHEN g.r_status < 0.6 THEN 'won'
                     WHEN g.r_status < 0.9 THEN 'lost' ELSE 'invalid' END AS status,
                now() - (g.r_age * g.r_age) * interval '720 days' - interval '1 hour' AS created) x,
LATERAL (SELECT id, short_name, owner_id, previous_owner_id FROM customers
          WHERE id = cu.lo + (hashint8(g.i) & 2147483647) % cu.span) c
WHERE coalesce(c.owner_id, c.previous_owner_id) IS NOT NULL"#;
    sqlx::query(sql).bind(n).execute(&mut *conn).await?;
    let lines = r#"
WITH p AS (SELECT min(id) AS lo, count(*) AS n FROM products)
INSERT INTO opportunity_lines (opportunity_id, product_id, price, quantity, discount, subtotal, position)
SELECT o.id, pr.id, pr.price, x.q, x.d, round(pr.price * x.q * (100 - x.d) / 100, 2), k
FROM opportunities o, p,
     generate_series(1, 1 + (o.id * 2654435761 % 5)::int) k,
     LATERAL (SELECT (1 + (o.id + k) % 20)::numeric AS q, (ARRAY[0, 0, 5, 10])[1 + ((o.id + k) % 4)::int]::numeric AS d) x,
     LATERAL (SELECT id, price FROM products WHERE id = p.lo + (o.id * 31 + k * 7919) % p.n) pr"#;
    sqlx::query(lines).execute(&mut *conn).await?;
    sqlx::query(
        "UPDATE opportunities o SET amount = t.total FROM
           (SELECT opportunity_id, sum(subtotal) AS total FROM opportunity_lines GROUP BY 1) t
         WHERE o.id = t.opportunity_id",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE customers c SET last_opportunity_at = t.at FROM
           (SELECT customer_id, max(created_at) AS at FROM opportunities GROUP BY 1) t WHERE c.id = t.customer_id",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The footer and board counters (migration 0024), recounted after the load.
async fn opportunity_sums(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM opportunity_sums").execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO opportunity_sums (owner_id, stage_id, status, n, amount)
         SELECT coalesce(owner_id, 0), stage_id, status, count(*), sum(amount) FROM opportunities
          WHERE deleted_at IS NULL GROUP BY 1, 2, 3",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Contracts: three in ten from won opportunities (their customer, owner and first three lines),
/// the rest on random customers, owned by the customer's owner (its previous owner in the pool),
/// so a manager's scope sees the share of its customers. Most approved; ~5% each draft,
/// pending and rejected, ~2% void (approved, then voided before any payment). Five in six have
/// lines (the amount is their total less the contract's discount), the rest a typed amount.
/// Pending ones have no approval instance here (the benchmark does not decide them).
async fn contracts(conn: &mut PgConnection, n: i64) -> anyhow::Result<()> {
    let sql = r#"
WITH cu AS (SELECT min(id) AS lo, max(id) - min(id) + 1 AS span FROM customers),
kt AS (SELECT array_agg(id ORDER BY position) AS a FROM dict_items WHERE dict = 'contract_type'),
won AS (SELECT o.id AS opportunity_id, o.customer_id, o.owner_id, o.name || '合同' AS name,
               least(o.closed_on + interval '10 hours', now() - interval '1 hour') AS at
          FROM opportunities o WHERE o.status = 'won' AND o.owner_id IS NOT NULL
         ORDER BY hashint8(o.id), o.id LIMIT $2),
rnd AS (SELECT NULL::bigint AS opportunity_id, c.id AS customer_id, coalesce(c.owner_id, c.previous_owner_id) AS owner_id,
               c.short_name || (ARRAY['年度采购合同','软件服务合同','系统建设合同','维保服务合同','扩容合同','框架协议'])[1 + g.i % 6] AS name,
               now() - (g.r * g.r) * interval '720 days' - interval '1 hour' AS at
          FROM (SELECT i, random() AS r FROM generate_series(1, $1::bigint - (SELECT count(*) FROM won)) i) g, cu,
               LATERAL (SELECT id, short_name, owner_id, previous_owner_id FROM customers
                         WHERE id = cu.lo + (hashint8(g.i + 900000001) & 2147483647) % cu.span) c
         WHERE coalesce(c.owner_id, c.previous_owner_id) IS NOT NULL),
g AS (SELECT s.*, row_number() OVER (ORDER BY s.at, s.customer_id) AS i, random() AS r_status, random() AS r_x
        FROM (SELECT * FROM won UNION ALL SELECT * FROM rnd) s),
x AS (SELECT g.*,
             CASE WHEN g.r_status < 0.05 THEN 'draft' WHEN g.r_status < 0.10 THEN 'pending'
                  WHEN g.r_status < 0.15 THEN 'rejected' WHEN g.r_status < 0.17 THEN 'void' ELSE 'approved' END AS status,
             least(g.at + (1 + g.i % 6) * interval '1 day', now() - interval '30 minutes') AS decided,
             g.opportunity_id IS NULL AND g.i % 6 = 0 AS typed
        FROM g)
INSERT INTO contracts (number, name, customer_id, opportunity_id, amount, discount, order_date, start_date, end_date,
                       type_id, customer_signer_id, company_signer_id, payment_terms, status, approved_at, void_reason,
                       voided_at, voided_by, owner_id, created_by, created_at, updated_at)
SELECT 'HTB' || lpad(x.i::text, 8, '0'), x.name, x.customer_id, x.opportunity_id,
       -- With lines the amount follows them (set after the lines).
       CASE WHEN x.typed THEN round((2000 + (hashint8(x.i) & 65535) * 12)::numeric, -2) ELSE 0 END,
       CASE WHEN x.typed THEN 0 ELSE (ARRAY[0, 0, 0, 0, 2, 5, 8])[1 + x.i % 7] END,
       x.at::date, x.at::date, x.at::date + (ARRAY[365, 730, 182])[1 + x.i % 3] - 1,
       kt.a[1 + x.i % array_length(kt.a, 1)], ct.id, x.owner_id,
       (ARRAY['按回款计划分期付款','验收后30天内付清','预付30%，验收后付清'])[1 + x.i % 3],
       x.status,
       CASE WHEN x.status IN ('approved', 'void') THEN x.decided END,
       CASE WHEN x.status = 'void' THEN (ARRAY['客户取消订单','合同信息有误，已重签','项目终止'])[1 + x.i % 3] END,
       CASE WHEN x.status = 'void' THEN x.decided + (now() - x.decided) * (0.1 + 0.5 * x.r_x) END,
       CASE WHEN x.status = 'void' THEN coalesce((SELECT superior_id FROM users WHERE id = x.owner_id), x.owner_id) END,
       x.owner_id, x.owner_id, x.at,
       CASE x.status WHEN 'approved' THEN x.decided + (now() - x.decided) * x.r_x
                     WHEN 'void' THEN x.decided + (now() - x.decided) * (0.1 + 0.5 * x.r_x)
                     WHEN 'draft' THEN x.at
                     ELSE x.decided END
FROM x CROSS JOIN kt
LEFT JOIN contacts ct ON ct.customer_id = x.customer_id AND ct.is_primary"#;
    sqlx::query(sql).bind(n).bind(n * 3 / 10).execute(&mut *conn).await?;
    // Lines: a won opportunity's first three, or one to three from the catalogue.
    sqlx::query(
        "INSERT INTO contract_lines (contract_id, product_id, price, quantity, discount, subtotal, position)
         SELECT k.id, l.product_id, l.price, l.quantity, l.discount, l.subtotal, l.position
           FROM contracts k JOIN opportunity_lines l ON l.opportunity_id = k.opportunity_id AND l.position <= 3",
    )
    .execute(&mut *conn)
    .await?;
    let lines = r#"
WITH p AS (SELECT min(id) AS lo, count(*) AS n FROM products)
INSERT INTO contract_lines (contract_id, product_id, price, quantity, discount, subtotal, position)
SELECT k.id, pr.id, pr.price, x.q, x.d, round(pr.price * x.q * (100 - x.d) / 100, 2), j
FROM contracts k, p,
     generate_series(1, 1 + (k.id * 2246822519 % 3)::int) j,
     LATERAL (SELECT (1 + (k.id + j) % 10)::numeric AS q, (ARRAY[0, 0, 5, 10])[1 + ((k.id + j) % 4)::int]::numeric AS d) x,
     LATERAL (SELECT id, price FROM products WHERE id = p.lo + (k.id * 17 + j * 7919) % p.n) pr
WHERE k.opportunity_id IS NULL AND k.amount = 0"#;
    sqlx::query(lines).execute(&mut *conn).await?;
    // The lines' total less the contract's discount, to the cent (as money::discounted).
    sqlx::query(
        "UPDATE contracts k SET amount = round(t.total * (100 - k.discount) / 100, 2)
           FROM (SELECT contract_id, sum(subtotal) AS total FROM contract_lines GROUP BY 1) t
          WHERE k.id = t.contract_id",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Payment plans of the approved contracts: 1–4 terms sharing the amount (the last takes the
/// rounding), the first due 15 days after approval, then every 1, 2, 3 or 6 months. Payments
/// booked on the terms: a past-due term is mostly paid in full (one in six in two payments),
/// sometimes in part or not at all (overdue); a term not yet due is sometimes paid early. One
/// open term in eight has a payment waiting for approval (what is left of it; no approval
/// instance here), one term in 25 a rejected one. Only confirmed payments count: the terms' and
/// contracts' `received` are their sums. Payments are owned by the contract's owner.
async fn payments(conn: &mut PgConnection) -> anyhow::Result<()> {
    let plans = r#"
WITH m AS (SELECT array_agg(id ORDER BY position) AS a FROM dict_items WHERE dict = 'payment_method')
INSERT INTO payment_plans (contract_id, owner_id, customer_id, term, amount, due_date, method_id, remind_days, created_by,
                           created_at, updated_at)
SELECT k.id, k.owner_id, k.customer_id, t,
       CASE WHEN t < s.n THEN round(k.amount / s.n, 2) ELSE k.amount - round(k.amount / s.n, 2) * (s.n - 1) END,
       k.approved_at::date + 15 + (t - 1) * s.gap,
       m.a[1 + (k.id % 3)::int], (ARRAY[0, 3, 7, 15])[1 + ((k.id + t) % 4)::int],
       k.owner_id, k.approved_at, k.approved_at
FROM contracts k, m,
     LATERAL (SELECT 1 + (k.id * 2654435761 % 4)::int AS n, (ARRAY[30, 60, 90, 180])[1 + (k.id / 4 % 4)::int] AS gap) s,
     generate_series(1, s.n) t
WHERE k.status = 'approved' AND k.amount >= 1"#;
    sqlx::query(plans).execute(&mut *conn).await?;
    let payments = r#"
WITH pl AS (SELECT p.id, p.contract_id, p.amount, p.due_date, p.method_id, k.customer_id, k.owner_id, k.approved_at,
                   (hashint8(p.id) & 2147483647) % 1000 AS h,
                   greatest(k.approved_at::date, least(current_date, p.due_date + (p.id % 21)::int - 14)) AS paid
              FROM payment_plans p JOIN contracts k ON k.id = p.contract_id),
o AS (SELECT pl.*,
             CASE WHEN pl.due_date < current_date THEN CASE WHEN pl.h < 780 THEN 'full' WHEN pl.h < 880 THEN 'part' ELSE 'open' END
                  WHEN pl.h < 120 THEN 'full' ELSE 'open' END AS outcome,
             round(pl.amount * (3 + pl.id % 5) / 10, 2) AS part
        FROM pl),
r AS (SELECT o.*, 'approved' AS status, o.amount AS pay, o.paid AS paid_on FROM o WHERE o.outcome = 'full' AND o.id % 6 <> 0
      UNION ALL
      SELECT o.*, 'approved', round(o.amount / 2, 2), greatest(o.approved_at::date, o.paid - 20)
        FROM o WHERE o.outcome = 'full' AND o.id % 6 = 0
      UNION ALL
      SELECT o.*, 'approved', o.amount - round(o.amount / 2, 2), o.paid FROM o WHERE o.outcome = 'full' AND o.id % 6 = 0
      UNION ALL
      SELECT o.*, 'approved', o.part, o.paid FROM o WHERE o.outcome = 'part'
      UNION ALL
      SELECT o.*, 'pending', o.amount - CASE WHEN o.outcome = 'part' THEN o.part ELSE 0 END,
             greatest(o.approved_at::date, current_date - (o.id % 5)::int)
        FROM o WHERE o.outcome IN ('part', 'open') AND o.id % 8 = 0
      UNION ALL
      SELECT o.*, 'rejected', o.amount, greatest(o.approved_at::date, o.paid - 3) FROM o WHERE o.id % 25 = 0),
n AS (SELECT r.*, row_number() OVER (ORDER BY r.paid_on, r.id, r.status, r.pay) AS i,
             greatest(r.approved_at, least(now() - interval '1 hour', r.paid_on + interval '10 hours')) AS created
        FROM r)
INSERT INTO payments (number, contract_id, customer_id, plan_id, amount, paid_on, method_id, notes, status, approved_at,
                      owner_id, created_by, created_at, updated_at)
SELECT 'HKB' || lpad(n.i::text, 9, '0'), n.contract_id, n.customer_id, n.id, n.pay, n.paid_on, n.method_id,
       CASE WHEN n.status = 'rejected' THEN '金额与银行回单不符' END, n.status,
       CASE WHEN n.status = 'approved' THEN least(now() - interval '30 minutes', n.created + interval '1 day') END,
       n.owner_id, n.owner_id, n.created,
       CASE WHEN n.status = 'pending' THEN n.created ELSE least(now() - interval '30 minutes', n.created + interval '1 day') END
FROM n"#;
    sqlx::query(payments).execute(&mut *conn).await?;
    sqlx::query(
        "UPDATE payment_plans p SET received = t.total
           FROM (SELECT plan_id, sum(amount) AS total FROM payments WHERE status = 'approved' GROUP BY 1) t
          WHERE p.id = t.plan_id",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE contracts k SET received = t.total
           FROM (SELECT contract_id, sum(amount) AS total FROM payments WHERE status = 'approved' GROUP BY 1) t
          WHERE k.id = t.contract_id",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What customers owe (approved contracts less confirmed payments), dealt when a contract was
/// approved (voided ones too: voiding keeps the deal), and credit limits on ~2% of customers —
/// mostly customers who owe something, a third of those below what they owe.
async fn receivables(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE customers c SET receivable = t.owed, deal_status = 'dealt', dealt_at = t.dealt_at
           FROM (SELECT customer_id, coalesce(sum(amount - received) FILTER (WHERE status = 'approved'), 0) AS owed,
                        max(approved_at) AS dealt_at
                   FROM contracts WHERE status IN ('approved', 'void') AND deleted_at IS NULL GROUP BY 1) t
          WHERE c.id = t.customer_id",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE customers SET credit_limit =
           CASE WHEN receivable > 0
                THEN greatest(10000, round(receivable * (ARRAY[0.6, 0.9, 1.2, 1.5, 2, 3])[1 + (id / 10 % 6)::int], -3))
                ELSE 50000 * (1 + id % 10) END
          WHERE (receivable > 0 AND (hashint8(id) & 1023) < 100) OR (hashint8(id) & 1023) < 10",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The contract list's footer counters (migration 0026), recounted after the load.
/// Rebuild `payment_sums` (migration 0028) from the payments.
async fn payment_sums(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM payment_sums").execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO payment_sums (owner_id, status, n, amount)
         SELECT coalesce(owner_id, 0), status, count(*), sum(amount) FROM payments
          WHERE deleted_at IS NULL GROUP BY 1, 2",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn contract_sums(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM contract_sums").execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO contract_sums (owner_id, status, n, amount, received)
         SELECT coalesce(owner_id, 0), status, count(*), sum(amount), sum(received) FROM contracts
          WHERE deleted_at IS NULL GROUP BY 1, 2",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
