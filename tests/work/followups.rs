//! Follow-ups: last / next contact times, the reminder, the timeline, the follow-up pages and
//! "customers not followed up for N days" with "remind the rep".

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::customer_work::{customer, org};

#[tokio::test]
async fn a_follow_up_moves_the_dates_and_its_next_contact_becomes_a_reminder() {
    let o = org().await;
    let id = customer(&o.app, "跟进公司", o.rep1).await;
    let mut rep1 = o.app.login("rep1").await;
    let phone: i64 = sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'followup_method' AND code = 'phone'")
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    let next =
        (Utc::now() + Duration::days(2)).with_timezone(&o.app.config.timezone).format("%Y-%m-%dT%H:%M").to_string();
    rep1.post(
        &format!("/customers/{id}/followups"),
        &[("method_id", &phone.to_string()), ("content", "电话沟通了报价"), ("next_contact_at", &next)],
    )
    .await
    .assert_redirect(&format!("/customers/{id}?tab=timeline"));
    let (last, next_at): (Option<chrono::DateTime<Utc>>, Option<chrono::DateTime<Utc>>) =
        sqlx::query_as("SELECT last_followup_at, next_contact_at FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&o.app.db)
            .await
            .unwrap();
    assert!(last.is_some_and(|l| (Utc::now() - l).num_seconds() < 60));
    assert_eq!(next_at.unwrap().with_timezone(&o.app.config.timezone).format("%Y-%m-%dT%H:%M").to_string(), next);
    // The timeline shows it, with the history, newest first; filtered by kind.
    let tl = rep1.get(&format!("/customers/{id}?tab=timeline")).await;
    assert!(tl.text_of("#timeline").contains("电话沟通了报价"));
    let only_history = rep1.get(&format!("/customers/{id}?tab=timeline&kind=history")).await;
    assert!(!only_history.text_of("#timeline").contains("电话沟通了报价"));

    // The reminder becomes a notification once due.
    assert_eq!(o.app.count("SELECT count(*) FROM notifications").await, 0);
    let ctx = |now| crm::jobs::JobCtx { db: o.app.db.clone(), config: Arc::new(o.app.config.clone()), now };
    crm::jobs::run_due(ctx(Utc::now()), true).await;
    assert_eq!(o.app.count("SELECT count(*) FROM notifications").await, 0, "not yet due");
    sqlx::query("UPDATE reminders SET due_at = now() - interval '1 minute'").execute(&o.app.db).await.unwrap();
    crm::jobs::run_due(ctx(Utc::now()), true).await;
    let text = rep1.get("/notifications").await.text_of("main");
    assert!(text.contains("跟进公司"), "{text}");

    // Bad input keeps what was typed and says what is wrong.
    rep1.post(&format!("/customers/{id}/followups"), &[("method_id", ""), ("content", "只写了内容")]).await;
    let again = rep1.get(&format!("/customers/{id}?tab=timeline")).await;
    assert!(again.text_of("#followup-form").contains("此项必填"));
    assert_eq!(again.text_of("#followup-form textarea[name=content]"), "只写了内容");
    assert_eq!(o.app.count("SELECT count(*) FROM followups").await, 1);
}

#[tokio::test]
async fn follow_up_pages_show_what_the_scope_allows_and_remind_reps() {
    let o = org().await;
    let mine = customer(&o.app, "近期跟进", o.rep1).await;
    let stale = customer(&o.app, "很久没跟进", o.rep1).await;
    let never = customer(&o.app, "从未跟进", o.rep2).await;
    let north = customer(&o.app, "北方客户", o.north_rep).await;
    let method: i64 = sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'followup_method' LIMIT 1")
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    for (c, author, days_ago, content) in
        [(mine, o.rep1, 1, "最近一次"), (stale, o.rep1, 40, "很久以前"), (north, o.north_rep, 2, "北方的跟进")]
    {
        sqlx::query("INSERT INTO followups (entity, entity_id, customer_id, method_id, content, created_by, created_at) VALUES ('customer', $1, $1, $2, $3, $4, now() - make_interval(days => $5))")
            .bind(c).bind(method).bind(content).bind(author).bind(days_ago).execute(&o.app.db).await.unwrap();
        sqlx::query("UPDATE customers SET last_followup_at = now() - make_interval(days => $2) WHERE id = $1")
            .bind(c)
            .bind(days_ago)
            .execute(&o.app.db)
            .await
            .unwrap();
    }
    let mut mgr = o.app.login("mgr").await;
    let all = mgr.get("/followups").await.text_of("#followups");
    assert!(all.contains("最近一次") && all.contains("很久以前") && !all.contains("北方的跟进"), "{all}");
    let recent = mgr
        .get(&format!("/followups?rep={}&from={}", o.rep1, (Utc::now() - Duration::days(7)).format("%Y-%m-%d")))
        .await
        .text_of("#followups");
    assert!(recent.contains("最近一次") && !recent.contains("很久以前"));

    // Not followed up for 30 days: rep1 has one, rep2 one (never); the north rep is outside scope.
    let overdue = mgr.get("/followups/overdue?days=30").await;
    let reps = overdue.text_of("#overdue-reps");
    assert!(reps.contains("用户rep1") && reps.contains("用户rep2") && !reps.contains("north"), "{reps}");
    let detail = mgr.get(&format!("/followups/overdue?days=30&owner={}", o.rep1)).await.text_of("#overdue-customers");
    assert!(detail.contains("很久没跟进") && !detail.contains("近期跟进"));
    mgr.post("/followups/overdue/remind", &[("owner_id", &o.rep1.to_string()), ("days", "30")]).await;
    let ctx = crm::jobs::JobCtx {
        db: o.app.db.clone(),
        config: Arc::new(o.app.config.clone()),
        now: Utc::now() + Duration::seconds(1),
    };
    crm::jobs::run_due(ctx, true).await;
    let note: String = sqlx::query_scalar("SELECT kind FROM notifications WHERE user_id = $1")
        .bind(o.rep1)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert_eq!(note, "remind_followup");
    // Reminding someone outside one's scope is refused.
    mgr.post("/followups/overdue/remind", &[("owner_id", &o.north_rep.to_string()), ("days", "30")])
        .await
        .assert_status(404);
    let _ = never;
}

/// The follow-up log stops counting at 1,000 (a department's log runs to hundreds of thousands)
/// and says so; the filters still narrow it, the department one by the author's department.
#[tokio::test]
async fn the_follow_up_log_counts_up_to_a_thousand_and_filters_by_department() {
    let o = org().await;
    let c = customer(&o.app, "很多跟进", o.rep1).await;
    sqlx::query(
        "INSERT INTO followups (entity, entity_id, customer_id, content, created_by)
         SELECT 'customer', $1, $1, '第' || i || '次', $2 FROM generate_series(1, 1001) i",
    )
    .bind(c)
    .bind(o.rep1)
    .execute(&o.app.db)
    .await
    .unwrap();
    let mut mgr = o.app.login("mgr").await;
    let total =
        |r: &super::common::Resp| r.text_of(".pager > span").split_whitespace().nth(1).unwrap_or("").to_string();
    let page = mgr.get("/followups").await;
    assert_eq!(total(&page), "1,000+");
    // The author filter offers the people in the manager's scope, not the whole company.
    let reps = page.text_of("select[name=rep]");
    assert!(reps.contains("用户rep1") && !reps.contains("north"), "{reps}");
    assert_eq!(total(&mgr.get(&format!("/followups?dept={}", o.east)).await), "1,000+");
    assert_eq!(total(&mgr.get(&format!("/followups?dept={}", o.north)).await), "0");
    assert_eq!(total(&mgr.get(&format!("/followups?rep={}", o.rep2)).await), "0");
    sqlx::query("DELETE FROM followups WHERE id IN (SELECT id FROM followups ORDER BY id LIMIT 2)")
        .execute(&o.app.db)
        .await
        .unwrap();
    assert_eq!(total(&mgr.get("/followups").await), "999");
}

/// A newer follow-up with a next contact time replaces the author's pending reminder for that
/// record; one without keeps it; another author's reminder is theirs and stays.
#[tokio::test]
async fn a_newer_next_contact_time_replaces_the_authors_pending_reminder() {
    let o = org().await;
    let id = customer(&o.app, "改期公司", o.rep1).await;
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', $1, $2, 'write')")
        .bind(id)
        .bind(o.rep2)
        .execute(&o.app.db)
        .await
        .unwrap();
    let method: i64 = sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'followup_method' LIMIT 1")
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    let method = method.to_string();
    let at = |days: i64| {
        (Utc::now() + Duration::days(days)).with_timezone(&o.app.config.timezone).format("%Y-%m-%dT%H:%M").to_string()
    };
    let path = format!("/customers/{id}/followups");
    let mut rep1 = o.app.login("rep1").await;
    let mut rep2 = o.app.login("rep2").await;
    rep1.post(&path, &[("method_id", &method), ("content", "第一次"), ("next_contact_at", &at(2))]).await;
    rep2.post(&path, &[("method_id", &method), ("content", "同事的"), ("next_contact_at", &at(3))]).await;
    rep1.post(&path, &[("method_id", &method), ("content", "改期"), ("next_contact_at", &at(5))]).await;
    rep1.post(&path, &[("method_id", &method), ("content", "没定下次")]).await;
    assert_eq!(o.app.count("SELECT count(*) FROM followups").await, 4);
    let pending: Vec<(i64, chrono::DateTime<Utc>)> =
        sqlx::query_as("SELECT user_id, due_at FROM reminders WHERE delivered_at IS NULL ORDER BY user_id")
            .fetch_all(&o.app.db)
            .await
            .unwrap();
    let local =
        |t: &chrono::DateTime<Utc>| t.with_timezone(&o.app.config.timezone).format("%Y-%m-%dT%H:%M").to_string();
    let pending: Vec<(i64, String)> = pending.iter().map(|(u, t)| (*u, local(t))).collect();
    assert_eq!(pending, [(o.rep1, at(5)), (o.rep2, at(3))]);
}

/// A follow-up names the customer's contacts it was about: they are saved and the timeline
/// shows them; a contact of another customer cannot be named.
#[tokio::test]
async fn a_follow_up_with_related_contacts_saves_and_shows_them() {
    let o = org().await;
    let id = customer(&o.app, "多人会谈", o.rep1).await;
    let elsewhere = customer(&o.app, "别的公司", o.rep1).await;
    let mut contacts = Vec::new();
    for (cust, name) in [(id, "张经理"), (id, "李总"), (id, "王工"), (elsewhere, "外人")] {
        let c: i64 =
            sqlx::query_scalar("INSERT INTO contacts (customer_id, name, owner_id) VALUES ($1, $2, $3) RETURNING id")
                .bind(cust)
                .bind(name)
                .bind(o.rep1)
                .fetch_one(&o.app.db)
                .await
                .unwrap();
        contacts.push(c.to_string());
    }
    let method: i64 = sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'followup_method' LIMIT 1")
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    let mut rep1 = o.app.login("rep1").await;
    let form_page = rep1.get(&format!("/customers/{id}?tab=timeline")).await;
    assert_eq!(form_page.count("#followup-form input[name=contact_ids]"), 3, "the customer's own contacts");
    let method = method.to_string();
    rep1.post(
        &format!("/customers/{id}/followups"),
        &[
            ("method_id", method.as_str()),
            ("content", "三方会谈"),
            ("contact_ids", contacts[0].as_str()),
            ("contact_ids", contacts[1].as_str()),
            ("contact_ids", contacts[3].as_str()),
        ],
    )
    .await
    .assert_redirect(&format!("/customers/{id}?tab=timeline"));
    let saved: Vec<i64> =
        sqlx::query_scalar("SELECT unnest(contact_ids) FROM followups ORDER BY 1").fetch_all(&o.app.db).await.unwrap();
    let want: Vec<i64> = contacts[..2].iter().map(|c| c.parse().unwrap()).collect();
    assert_eq!(saved, want, "only this customer's contacts");
    let tl = rep1.get(&format!("/customers/{id}?tab=timeline")).await.text_of("#timeline");
    assert!(tl.contains("三方会谈") && tl.contains("李总") && tl.contains("张经理"), "{tl}");
    assert!(!tl.contains("王工") && !tl.contains("外人"), "{tl}");
}
