//! Schedule: repeat rules in the calendar and the ICS feed, the feed's token, who sees an event
//! and whose calendar, late-evening events on the right day, and the to-do count.

use chrono::{Duration, Utc};

use super::common::{Client, TestApp};
use super::customer_work::{customer, org};

/// POST an event form as `c`; the new event's id.
async fn create(app: &TestApp, c: &mut Client, fields: &[(&str, &str)]) -> i64 {
    let r = c.post("/events", fields).await;
    assert_eq!(r.status.as_u16(), 303, "event form refused: {}", r.text_of(".field-error"));
    let id: i64 = sqlx::query_scalar("SELECT max(id) FROM events").fetch_one(&app.db).await.unwrap();
    r.assert_redirect(&format!("/events/{id}"));
    id
}

fn on_day(page: &super::common::Resp, day: &str, id: i64) -> bool {
    page.has(&format!("[data-date=\"{day}\"] [data-event=\"{id}\"]"))
}

/// A feed's content lines, unfolded.
fn unfold(ics: &str) -> Vec<String> {
    ics.replace("\r\n ", "").split("\r\n").filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// The VEVENT with this UID, as its property lines.
fn vevent(lines: &[String], uid: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for l in lines {
        if l == "BEGIN:VEVENT" {
            cur.clear();
        }
        cur.push(l.clone());
        if l == "END:VEVENT" && cur.iter().any(|p| p == &format!("UID:{uid}")) {
            out = cur.clone();
        }
    }
    out
}

async fn feed_url(c: &mut Client) -> String {
    c.post("/calendar/feed", &[]).await.assert_redirect("/calendar#feed");
    let page = c.get("/calendar").await;
    let url = page.attr("#feed-url", "value").expect("the new URL is shown once");
    assert!(!c.get("/calendar").await.has("#feed-url"), "shown only once");
    url
}

#[tokio::test]
async fn a_weekly_event_repeats_until_its_last_day_in_the_month_view_and_the_feed() {
    let o = org().await;
    let mut rep = o.app.login("rep1").await;
    let id = create(
        &o.app,
        &mut rep,
        &[
            ("title", "周例会, 产品; 评审"),
            ("start", "2026-01-05T09:00"),
            ("end", "2026-01-05T10:00"),
            ("repeat", "weekly"),
            ("repeat_until", "2026-01-26"),
            ("remind", "15"),
        ],
    )
    .await;
    let jan = rep.get("/calendar?view=month&date=2026-01-15").await;
    jan.assert_status(200);
    for day in ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"] {
        assert!(on_day(&jan, day, id), "on {day}");
    }
    assert_eq!(jan.count(&format!("[data-event=\"{id}\"]")), 4, "not on other days");
    // February's grid starts on Monday 26 January: that day has it, no February day does.
    let feb = rep.get("/calendar?view=month&date=2026-02-10").await;
    assert!(on_day(&feb, "2026-01-26", id));
    assert_eq!(feb.count(&format!("[data-event=\"{id}\"]")), 1, "not after its last day");
    let week = rep.get("/calendar?view=week&date=2026-01-14").await;
    assert!(on_day(&week, "2026-01-12", id));

    // The feed: one VEVENT with the rule, read back.
    let url = feed_url(&mut rep).await;
    assert!(url.starts_with("/calendar/feed/") && url.ends_with(".ics"));
    let mut anon = o.app.client();
    let r = anon.get(&url).await;
    r.assert_status(200);
    assert_eq!(r.headers.get("content-type").unwrap(), "text/calendar; charset=utf-8");
    assert!(r.body.starts_with("BEGIN:VCALENDAR\r\n") && r.body.ends_with("END:VCALENDAR\r\n"));
    for raw in r.body.split("\r\n") {
        assert!(raw.len() <= 75, "folded at 75 octets: {raw}");
    }
    let lines = unfold(&r.body);
    let ev = vevent(&lines, &format!("event-{id}@crm"));
    assert!(!ev.is_empty(), "the event is in the feed: {lines:?}");
    let has = |l: &str| ev.iter().any(|p| p == l);
    assert!(has("DTSTART:20260105T010000Z"), "{ev:?}");
    assert!(has("DTEND:20260105T020000Z"), "{ev:?}");
    // The last local day ends 2026-01-26 23:59:59 +08:00.
    assert!(has("RRULE:FREQ=WEEKLY;UNTIL=20260126T155959Z"), "{ev:?}");
    assert!(has("SUMMARY:周例会\\, 产品\\; 评审"), "{ev:?}");
    assert!(has("TRIGGER:-PT15M"), "{ev:?}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("UID:event-")).count(), 1);
    // Expanded by an independent RFC 5545 implementation, the feed's rule gives the same local
    // days as the month view.
    let prop = |name: &str| ev.iter().find(|p| p.starts_with(name)).cloned().unwrap();
    let set: rrule::RRuleSet = format!("{}\n{}", prop("DTSTART:"), prop("RRULE:")).parse().unwrap();
    let tz = o.app.config.timezone;
    let days: Vec<String> = set.all(100).dates.iter().map(|d| d.with_timezone(&tz).date_naive().to_string()).collect();
    let shown: Vec<String> = ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]
        .into_iter()
        .filter(|d| on_day(&jan, d, id))
        .map(str::to_string)
        .collect();
    assert_eq!(days, shown, "the feed's occurrences are the calendar's");

    // A new URL replaces the old one; a revoked one is gone; an unknown one never existed.
    let renewed = feed_url(&mut rep).await;
    assert_ne!(renewed, url);
    anon.get(&url).await.assert_status(404);
    anon.get(&renewed).await.assert_status(200);
    rep.post("/calendar/feed/revoke", &[]).await.assert_redirect("/calendar#feed");
    anon.get(&renewed).await.assert_status(404);
    anon.get(&format!("/calendar/feed/{}.ics", "0".repeat(64))).await.assert_status(404);
    let stored: String = sqlx::query_scalar("SELECT coalesce(string_agg(token_hash, ''), '') FROM calendar_feeds")
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert!(!stored.contains(url.trim_start_matches("/calendar/feed/").trim_end_matches(".ics")));
}

#[tokio::test]
async fn participants_see_an_event_and_others_do_not() {
    let o = org().await;
    let mut rep1 = o.app.login("rep1").await;
    let rep2 = o.rep2.to_string();
    let id =
        create(&o.app, &mut rep1, &[("title", "拜访客户"), ("start", "2026-03-03T14:00"), ("participants", &rep2)])
            .await;
    let mut peer = o.app.login("rep2").await;
    peer.get(&format!("/events/{id}")).await.assert_status(200);
    assert!(on_day(&peer.get("/calendar?date=2026-03-03").await, "2026-03-03", id));
    // A participant reads, but does not edit.
    peer.get(&format!("/events/{id}/edit")).await.assert_status(403);
    assert!(!peer.get(&format!("/events/{id}")).await.has(&format!("a[href=\"/events/{id}/edit\"]")));

    let mut outsider = o.app.login("north_rep").await;
    outsider.get(&format!("/events/{id}")).await.assert_status(404);
    outsider.get(&format!("/events/{id}/edit")).await.assert_status(404);
    let cal = outsider.get("/calendar?date=2026-03-03").await;
    assert_eq!(cal.count(&format!("[data-event=\"{id}\"]")), 0);
    // Without a reminder nothing is planned; with one, owner and participant each get one, at
    // the right time, and a save replaces them.
    assert_eq!(o.app.count("SELECT count(*) FROM reminders WHERE kind = 'event_due'").await, 0);
    let start =
        (Utc::now() + Duration::days(3)).with_timezone(&o.app.config.timezone).format("%Y-%m-%dT%H:%M").to_string();
    let fields = [("title", "提醒我"), ("start", start.as_str()), ("participants", rep2.as_str()), ("remind", "60")];
    let soon = create(&o.app, &mut rep1, &fields).await;
    rep1.post(&format!("/events/{soon}"), &fields).await.assert_redirect(&format!("/events/{soon}"));
    let link = format!("/events/{soon}");
    let q =
        format!("SELECT count(*) FROM reminders WHERE kind = 'event_due' AND link = '{link}' AND delivered_at IS NULL");
    assert_eq!(o.app.count(&q).await, 2);
    let early = "AND due_at = (SELECT starts_at - interval '60 minutes' FROM events WHERE id = ";
    assert_eq!(o.app.count(&format!("{q} {early}{soon})")).await, 2);
    // In the bin it reminds nobody.
    rep1.post(&format!("/events/{soon}/delete"), &[]).await.assert_redirect("/events");
    assert_eq!(o.app.count(&q).await, 0);
}

#[tokio::test]
async fn a_manager_opens_a_subordinates_calendar_and_a_rep_not_a_peers() {
    let o = org().await;
    let mut rep1 = o.app.login("rep1").await;
    let id = create(&o.app, &mut rep1, &[("title", "签约"), ("start", "2026-04-08T10:00")]).await;
    let mut mgr = o.app.login("mgr").await;
    let cal = mgr.get(&format!("/calendar?date=2026-04-08&user={}", o.rep1)).await;
    cal.assert_status(200);
    assert!(on_day(&cal, "2026-04-08", id));
    assert!(!on_day(&mgr.get("/calendar?date=2026-04-08").await, "2026-04-08", id), "not on his own");
    mgr.get(&format!("/events/{id}")).await.assert_status(200);
    let mut rep2 = o.app.login("rep2").await;
    rep2.get(&format!("/calendar?user={}", o.rep1)).await.assert_status(404);
    rep2.get(&format!("/calendar?user={}", o.north_rep)).await.assert_status(404);
    rep2.get("/calendar?user=999999").await.assert_status(404);
}

#[tokio::test]
async fn an_event_late_in_the_evening_is_on_its_own_local_day() {
    let o = org().await;
    let mut rep = o.app.login("rep1").await;
    let id =
        create(&o.app, &mut rep, &[("title", "晚间电话"), ("start", "2026-03-10T23:30"), ("end", "2026-03-10T23:50")])
            .await;
    let cal = rep.get("/calendar?view=month&date=2026-03-01").await;
    assert!(on_day(&cal, "2026-03-10", id));
    assert_eq!(cal.count(&format!("[data-event=\"{id}\"]")), 1);
    assert!(cal.text_of("[data-date=\"2026-03-10\"]").contains("23:30"));
    // All day, two days: on both, not on the third.
    let all = create(
        &o.app,
        &mut rep,
        &[("title", "展会"), ("all_day", "1"), ("start_date", "2026-03-12"), ("end_date", "2026-03-13")],
    )
    .await;
    let cal = rep.get("/calendar?view=month&date=2026-03-01").await;
    assert!(on_day(&cal, "2026-03-12", all) && on_day(&cal, "2026-03-13", all));
    assert!(!on_day(&cal, "2026-03-14", all) && !on_day(&cal, "2026-03-11", all));
}

#[tokio::test]
async fn a_wrong_form_is_shown_again_and_writes_nothing() {
    let o = org().await;
    let mut rep = o.app.login("rep1").await;
    let r = rep
        .post(
            "/events",
            &[
                ("title", "评审"),
                ("start", "2026-05-02T10:00"),
                ("end", "2026-05-02T09:00"),
                ("repeat", "daily"),
                ("repeat_until", "2026-05-01"),
            ],
        )
        .await;
    r.assert_status(422);
    assert!(r.text_of(".has-error").contains("结束时间不能早于开始时间"));
    assert!(r.text_of(".has-error").contains("重复截止日期不能早于开始日期"));
    assert_eq!(r.attr("input[name=title]", "value").as_deref(), Some("评审"));
    assert_eq!(o.app.count("SELECT count(*) FROM events").await, 0);
    let r = rep.post("/events", &[("title", ""), ("start", "2026-05-02T10:00")]).await;
    r.assert_status(422);
    assert_eq!(o.app.count("SELECT count(*) FROM events").await, 0);
}

#[tokio::test]
async fn the_follow_up_link_prefills_the_form_and_the_record_timeline_shows_the_event() {
    let o = org().await;
    let c = customer(&o.app, "甲公司日程", o.rep1).await;
    let mut rep = o.app.login("rep1").await;
    let form = rep.get(&format!("/events/new?start=2026-06-01T15:00&about=/customers/{c}")).await;
    form.assert_status(200);
    assert_eq!(form.attr("input[name=start]", "value").as_deref(), Some("2026-06-01T15:00"));
    assert!(form.has(&format!("input[name=rel][value=\"customer:{c}\"][checked]")));
    assert!(form.attr("input[name=title]", "value").unwrap().contains("甲公司日程"));
    let rel = format!("customer:{c}");
    let id =
        create(&o.app, &mut rep, &[("title", "回访"), ("start", "2026-06-01T15:00"), ("rel", &rel), ("remind", "30")])
            .await;
    let tl = rep.get(&format!("/customers/{c}?tab=timeline&kind=event")).await;
    assert!(tl.has(&format!("#timeline a[href=\"/events/{id}\"]")), "{}", tl.text_of("#timeline"));
    // A customer the user does not see is not prefilled.
    let theirs = customer(&o.app, "别人的公司", o.north_rep).await;
    let form = rep.get(&format!("/events/new?related=customer:{theirs}")).await;
    assert!(!form.has(&format!("input[name=rel][value=\"customer:{theirs}\"]")));
}

#[tokio::test]
async fn the_to_do_count_of_todays_events_is_what_the_day_lists() {
    let o = org().await;
    let tz = o.app.config.timezone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let at = |d: chrono::NaiveDate, t: &str| format!("{d}T{t}");
    let mut rep = o.app.login("rep1").await;
    let yesterday = today - Duration::days(1);
    let tomorrow = today + Duration::days(1);
    create(&o.app, &mut rep, &[("title", "每日站会"), ("start", &at(yesterday, "09:00")), ("repeat", "daily")]).await;
    create(&o.app, &mut rep, &[("title", "今天的会"), ("start", &at(today, "14:00"))]).await;
    create(&o.app, &mut rep, &[("title", "明天的会"), ("start", &at(tomorrow, "14:00"))]).await;
    let rep2 = o.rep2.to_string();
    let mut peer = o.app.login("rep2").await;
    create(
        &o.app,
        &mut peer,
        &[("title", "一起的会"), ("start", &at(today, "16:00")), ("participants", &o.rep1.to_string())],
    )
    .await;
    let _ = rep2;
    let todo = rep.get("/todo").await;
    assert_eq!(todo.text_of("#todo-events_today .todo-count").trim(), "3");
    assert_eq!(todo.count("#todo-events_today .todo-item"), 3);
    let href = todo.attr("#todo-events_today h2 a", "href").unwrap();
    let day = rep.get(&href).await;
    assert_eq!(day.count(".cal-event"), 3, "{href}");
}

/// The job plans the next occurrence's reminders once the pending ones are due, once only.
#[tokio::test]
async fn the_reminder_job_plans_each_occurrence_once() {
    let o = org().await;
    let tz = o.app.config.timezone;
    let first = (Utc::now() + Duration::days(1)).with_timezone(&tz).format("%Y-%m-%dT10:00").to_string();
    let mut rep = o.app.login("rep1").await;
    let id =
        create(&o.app, &mut rep, &[("title", "周会"), ("start", &first), ("repeat", "weekly"), ("remind", "15")]).await;
    let pending = |extra: &str| {
        format!("SELECT count(*) FROM reminders WHERE kind = 'event_due' AND link = '/events/{id}' {extra}")
    };
    assert_eq!(o.app.count(&pending("")).await, 1);
    let due: chrono::DateTime<Utc> = sqlx::query_scalar("SELECT next_remind_at FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    crm::app::install();
    let job = crm::jobs::all().into_iter().find(|j| j.name == "event_reminders").unwrap();
    let ctx = |now| crm::jobs::JobCtx { db: o.app.db.clone(), config: std::sync::Arc::new(o.app.config.clone()), now };
    // Before it is due: nothing new.
    (job.run)(ctx(due - Duration::minutes(1))).await.unwrap();
    assert_eq!(o.app.count(&pending("")).await, 1);
    // Due: the next week's is planned, 15 minutes before it; a second run adds nothing.
    (job.run)(ctx(due + Duration::seconds(5))).await.unwrap();
    (job.run)(ctx(due + Duration::seconds(65))).await.unwrap();
    assert_eq!(o.app.count(&pending("")).await, 2);
    let next = due + Duration::weeks(1);
    let at = format!("AND due_at = '{}'", next.to_rfc3339());
    assert_eq!(o.app.count(&pending(&at)).await, 1);
}

/// Everything the app logs while a feed is made, read and refused — the request spans of every
/// layer, at the most detailed level — names the feed path redacted, never its token.
#[tokio::test]
async fn the_feed_token_never_reaches_the_log() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let log = Captured::default();
    let writer = log.clone();
    // Everything but the test's own HTML parser (it reads the page that shows the URL).
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,html5ever=off,selectors=off,scraper=off"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // This test's thread only (the runtime of #[tokio::test] runs on it).
    let _guard = tracing::subscriber::set_default(subscriber);

    let o = org().await;
    let mut rep = o.app.login("rep1").await;
    create(&o.app, &mut rep, &[("title", "周会"), ("start", "2026-01-05T09:00")]).await;
    let url = feed_url(&mut rep).await;
    let mut anon = o.app.client();
    anon.get(&url).await.assert_status(200);
    rep.post("/calendar/feed/revoke", &[]).await;
    anon.get(&url).await.assert_status(404);

    let token = url.trim_start_matches("/calendar/feed/").trim_end_matches(".ics").to_string();
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("/calendar/feed/[redacted]"), "the feed requests are logged");
    let leaks: Vec<&str> = text.lines().filter(|l| l.contains(&token)).collect();
    assert!(leaks.is_empty(), "the token is in the log: {leaks:#?}");
}
