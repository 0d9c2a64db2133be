//! The demo company: a department tree, a manager chain and a few sales users. Only ever written
//! into an empty database, so demo passwords never reach a real installation.

use anyhow::bail;
use sqlx::PgPool;

use super::{grant_role, insert_user, root_department};
use crate::auth::password;

pub const ADMIN: (&str, &str) = ("admin", "admin123");
pub const SALES_PASSWORD: &str = "sales123";

/// (login, name, department, superior login, role code, position)
pub const USERS: &[(&str, &str, &str, Option<&str>, &str, &str)] = &[
    ("13800000001", "王建国", "销售部", None, "director", "销售总监"),
    ("13800000002", "李娜", "华东大区", Some("13800000001"), "manager", "华东区经理"),
    ("13800000003", "张伟", "华东大区", Some("13800000002"), "rep", "销售代表"),
    ("13800000004", "刘洋", "华东大区", Some("13800000002"), "rep", "销售代表"),
    ("13800000005", "陈静", "华北大区", Some("13800000001"), "manager", "华北区经理"),
    ("13800000006", "杨帆", "华北大区", Some("13800000005"), "rep", "销售代表"),
    ("13800000007", "赵敏", "财务部", None, "readonly", "财务专员"),
];

/// (name, parent name; None = root)
const DEPARTMENTS: &[(&str, Option<&str>)] =
    &[("销售部", None), ("华东大区", Some("销售部")), ("华北大区", Some("销售部")), ("市场部", None), ("财务部", None)];

/// Seed into an empty database; true when it did.
pub async fn seed_if_empty(db: &PgPool) -> anyhow::Result<bool> {
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(db).await?;
    if users > 0 {
        return Ok(false);
    }
    seed(db).await?;
    Ok(true)
}

/// Whether this database holds the demo company (seeded now or on an earlier run), so its
/// logins may be printed.
pub async fn present(db: &PgPool) -> anyhow::Result<bool> {
    let demo: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM app_meta WHERE key = 'demo' AND value = 'yes')")
        .fetch_one(db)
        .await?;
    Ok(demo)
}

pub async fn seed(db: &PgPool) -> anyhow::Result<()> {
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(db).await?;
    if users > 0 {
        bail!("the database already has users; demo data only goes into an empty database");
    }
    let mut tx = db.begin().await?;
    let root = root_department(&mut tx).await?;
    for (name, parent) in DEPARTMENTS {
        sqlx::query(
            "INSERT INTO departments (name, parent_id)
             VALUES ($1, COALESCE((SELECT id FROM departments WHERE name = $2), $3))",
        )
        .bind(name)
        .bind(parent)
        .bind(root)
        .execute(&mut *tx)
        .await?;
    }
    let admin_hash = password::hash(ADMIN.1.to_string()).await?;
    let admin = insert_user(&mut tx, ADMIN.0, "系统管理员", root, None, &admin_hash).await?;
    grant_role(&mut tx, admin, "super").await?;

    let sales_hash = password::hash(SALES_PASSWORD.to_string()).await?;
    for (login, name, dept, superior, role, position) in USERS {
        let dept_id: i64 =
            sqlx::query_scalar("SELECT id FROM departments WHERE name = $1").bind(dept).fetch_one(&mut *tx).await?;
        let superior_id: Option<i64> = match superior {
            Some(s) => {
                Some(sqlx::query_scalar("SELECT id FROM users WHERE login = $1").bind(s).fetch_one(&mut *tx).await?)
            }
            None => None,
        };
        let id = insert_user(&mut tx, login, name, dept_id, superior_id, &sales_hash).await?;
        sqlx::query("UPDATE users SET position = $1 WHERE id = $2").bind(position).bind(id).execute(&mut *tx).await?;
        grant_role(&mut tx, id, role).await?;
    }
    sqlx::query(
        "UPDATE departments d SET head_id = u.id FROM users u
         WHERE (d.name, u.login) IN (('销售部', '13800000001'), ('华东大区', '13800000002'), ('华北大区', '13800000005'))",
    )
    .execute(&mut *tx)
    .await?;
    seed_customers(&mut tx).await?;
    seed_contacts(&mut tx).await?;
    seed_leads(&mut tx).await?;
    super::demo_pipeline::seed(&mut tx).await?;
    super::demo_tasks::seed(&mut tx).await?;
    super::demo_worklogs::seed(&mut tx).await?;
    super::demo_schedule::seed(&mut tx).await?;
    super::demo_imports::seed(&mut tx).await?;
    sqlx::query("INSERT INTO app_meta (key, value) VALUES ('demo', 'yes') ON CONFLICT (key) DO NOTHING")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub fn print_logins() {
    println!("Demo logins:");
    println!("  {:<12} {:<10} password {}  (super administrator)", ADMIN.0, "系统管理员", ADMIN.1);
    for (login, name, _, _, _, position) in USERS {
        println!("  {login:<12} {name:<10} password {SALES_PASSWORD}  ({position})");
    }
}

/// (name, short name, industry code, city, phone)
const CUSTOMERS: &[(&str, &str, &str, &str, &str)] = &[
    ("上海华信科技有限公司", "华信科技", "it", "上海", "021-68881001"),
    ("杭州云帆网络科技有限公司", "云帆网络", "it", "杭州", "0571-88001002"),
    ("苏州精工机械制造有限公司", "精工机械", "manufacturing", "苏州", "0512-66001003"),
    ("南京金陵医药连锁有限公司", "金陵医药", "healthcare", "南京", "025-84001004"),
    ("宁波港联物流有限公司", "港联物流", "logistics", "宁波", "0574-87001005"),
    ("北京博远教育咨询有限公司", "博远教育", "education", "北京", "010-62001006"),
    ("天津海河新材料股份有限公司", "海河新材", "energy", "天津", "022-23001007"),
    ("石家庄恒通建设工程有限公司", "恒通建设", "construction", "石家庄", "0311-85001008"),
    ("济南泉城食品有限公司", "泉城食品", "retail", "济南", "0531-86001009"),
    ("青岛蓝海电子有限公司", "蓝海电子", "telecom", "青岛", "0532-80001010"),
    ("深圳前海金融服务有限公司", "前海金服", "finance", "深圳", "0755-83001011"),
    ("广州南方传媒有限公司", "南方传媒", "media", "广州", "020-38001012"),
];

/// A few customers for each sales user, so the lists are not empty on first look.
pub async fn seed_customers(tx: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    let reps = ["13800000003", "13800000004", "13800000006", "13800000002"];
    for (i, (name, short, industry, city, phone)) in CUSTOMERS.iter().enumerate() {
        let owner = reps[i % reps.len()];
        let code = crate::numbering::next(
            tx,
            "customer",
            chrono::Utc::now(),
            chrono::FixedOffset::east_opt(8 * 3600).unwrap(),
        )
        .await?;
        sqlx::query(
            "INSERT INTO customers (code, name, name_norm, short_name, kind, status_id, level, industry_id, region_id,
                                    phone, owner_id, created_by, last_followup_at)
             SELECT $1, $2, $3, $4, 'enterprise',
                    (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position OFFSET ($5 % 3) + 1 LIMIT 1),
                    1 + ($5 % 6),
                    (SELECT id FROM dict_items WHERE dict = 'industry' AND code = $6),
                    (SELECT id FROM dict_items WHERE dict = 'region' AND label_zh = $7 ORDER BY parent_id NULLS LAST LIMIT 1),
                    $8, u.id, u.id, now() - make_interval(days => $5 * 3)
             FROM users u WHERE u.login = $9",
        )
        .bind(code)
        .bind(name)
        .bind(crate::records::normalize::name(name))
        .bind(short)
        .bind(i as i32)
        .bind(industry)
        .bind(city)
        .bind(phone)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Two contacts per demo customer (the first is the primary, a decision maker), owned with the
/// customer.
pub async fn seed_contacts(tx: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙"];
    let customers: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, owner_id FROM customers ORDER BY id").fetch_all(&mut *tx).await?;
    for (i, (customer, owner)) in customers.iter().enumerate() {
        let surname = SURNAMES[i % SURNAMES.len()];
        for (j, (title, position)) in [("总", "总经理"), ("经理", "采购经理")].iter().enumerate() {
            sqlx::query(
                "INSERT INTO contacts (customer_id, name, position, mobile, decision_maker, is_primary, owner_id, created_by)
                 VALUES ($1, $2, $3, $4, $5, $5, $6, $6)",
            )
            .bind(customer)
            .bind(format!("{surname}{title}"))
            .bind(position)
            .bind(format!("139{:04}{:04}", i + 1, j + 1))
            .bind(j == 0)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// (name, contact person, mobile, lead source code, industry code, city, level, owner login)
#[allow(clippy::type_complexity)]
const LEADS: &[(&str, &str, &str, &str, &str, &str, i16, &str)] = &[
    ("上海浦江数据服务有限公司", "陈经理", "13911110001", "website", "it", "上海", 3, "13800000003"),
    ("杭州西溪智能家居有限公司", "林总", "13911110002", "trade_show", "manufacturing", "杭州", 2, "13800000003"),
    ("苏州园区生物科技有限公司", "黄博士", "13911110003", "referral", "healthcare", "苏州", 4, "13800000004"),
    ("南京秦淮文化传播有限公司", "马女士", "13911110004", "social", "media", "南京", 1, "13800000004"),
    ("北京中关村云计算有限公司", "郭先生", "13911110005", "search", "it", "北京", 3, "13800000006"),
];

/// A few open leads for the sales users, and a recycle rule on the default pool (30 days without
/// a follow-up, owners told 3 days ahead), so the lead and pool pages have something to show.
pub async fn seed_leads(tx: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    for (i, (name, contact, mobile, source, industry, city, level, owner)) in LEADS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO leads (name, contact_name, mobile, source_id, industry_id, region_id, level, owner_id, created_by,
                                next_contact_at, name_norm)
             SELECT $1, $2, $3,
                    (SELECT id FROM dict_items WHERE dict = 'lead_source' AND code = $4),
                    (SELECT id FROM dict_items WHERE dict = 'industry' AND code = $5),
                    (SELECT id FROM dict_items WHERE dict = 'region' AND label_zh = $6 ORDER BY parent_id NULLS LAST LIMIT 1),
                    $7, u.id, u.id, now() + make_interval(days => $8), $10
             FROM users u WHERE u.login = $9",
        )
        .bind(name)
        .bind(contact)
        .bind(mobile)
        .bind(source)
        .bind(industry)
        .bind(city)
        .bind(level)
        .bind(i as i32 + 1)
        .bind(owner)
        .bind(crate::records::normalize::name(name))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO pool_rules (pool_id, kind, days) SELECT id, 'no_followup', 30 FROM pools WHERE is_default
           AND NOT EXISTS (SELECT 1 FROM pool_rules)",
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
