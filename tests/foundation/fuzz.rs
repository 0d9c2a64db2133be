//! Fuzz: every route of the route table, as the demo admin, with bad path ids (huge, negative,
//! non-numeric, invalid UTF-8), and query strings (GET) or forms (POST) filled with bad dates,
//! numbers, page sizes, sort keys, NUL and invalid UTF-8 escapes, under every name the
//! templates send. Nothing answers 500. The cases come from a fixed seed, so a failure is
//! reproduced by running the test again.

use axum::http::Method;

use super::walk::{self, World};

const SEED: u64 = 0x5eed_2100_c0ff_ee21;

/// splitmix64: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Bad path ids (already url-encoded).
const IDS: &[&str] = &[
    "0",
    "-1",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "abc",
    "1.5",
    "%ff%fe",
    "1%20OR%201=1",
    "%00",
];
const DATES: &[&str] = &[
    "2024-13-45",
    "2024-02-30",
    "0000-00-00",
    "99999-01-01",
    "-0001-01-01",
    "yesterday",
    "2024-01-01T25:61",
    "1e9",
    "%ff%fe",
    "",
];
const NUMBERS: &[&str] =
    &["-1", "1e309", "NaN", "inf", "99999999999999999999999999", "0.000000001", "-0", "abc", "1%2C000", "%ff%fe", ""];
const PAGING: &[(&str, &[&str])] = &[
    ("page", &["99999999", "-5", "0", "abc", "9223372036854775807"]),
    ("per_page", &["-1", "100000", "0", "abc", "9223372036854775807"]),
];
const SORTS: &[&str] = &["nonexistent", "name%3Bdrop%20table%20users", "-", "", "%ff%fe", "id%20desc", "999"];
/// No NUL among the values a case mixes: the input layer refuses a request holding one before
/// anything reads the others (the fixed cases and the path ids send it alone).
const TEXT: &[&str] = &["%ff%fe", "a%ffb", "%c0%af", "%ed%a0%80", "%25", "%27%22%3C%3E", "%E2%80%AE"];

fn value_for(rng: &mut Rng, name: &str) -> String {
    let any = rng.next() % 4 == 0;
    let class: &[&str] = if any {
        match rng.next() % 4 {
            0 => &IDS[..9],
            1 => DATES,
            2 => NUMBERS,
            _ => TEXT,
        }
    } else if name.ends_with("_from")
        || name.ends_with("_to")
        || name.ends_with("_at")
        || name.contains("date")
        || ["from", "to", "date", "start", "end", "until", "closed_on", "month", "day", "week"].contains(&name)
    {
        DATES
    } else if name == "id"
        || name == "ids"
        || name.ends_with("_id")
        || name.ends_with("_ids")
        || name.contains("owner")
        || ["user", "dept", "customer", "stage", "role", "pool", "batch", "into", "rep", "assignee"].contains(&name)
    {
        &IDS[..9]
    } else if ["sort", "order", "dir", "direction", "view", "tab", "scene", "columns", "show"].contains(&name) {
        SORTS
    } else if ["amount", "price", "discount", "qty", "rate", "days", "cap", "level", "max", "min", "number", "months"]
        .iter()
        .any(|k| name.contains(k))
    {
        NUMBERS
    } else {
        TEXT
    };
    rng.pick(class).to_string()
}

/// One fuzz case: `n` names with bad values, paging always among them.
fn case(rng: &mut Rng, names: &[String], n: usize) -> String {
    let mut pairs = Vec::new();
    let (key, values) = rng.pick(PAGING);
    pairs.push(format!("{key}={}", rng.pick(values)));
    pairs.push(format!("sort={}", rng.pick(SORTS)));
    for _ in 0..n {
        let name = rng.pick(names);
        pairs.push(format!("{name}={}", value_for(rng, name)));
    }
    pairs.join("&")
}

#[tokio::test]
async fn no_route_answers_bad_ids_dates_numbers_or_paging_with_a_server_error() {
    let started = std::time::Instant::now();
    let mut w = World::demo().await;
    let mut c = w.admin().await;
    let names = walk::input_names();
    assert!(names.len() > 100, "the templates' input names: {}", names.len());
    let mut rng = Rng(SEED);
    let mut wrong = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    let (mut routes, mut requests, mut relogins) = (0, 0, 0);
    // The fixed worst cases first, then seeded ones.
    let fixed = ["page=99999999&per_page=-1", "per_page=100000&sort=nonexistent&order=sideways", "q=%ff%fe&page=%00"];
    for spec in crm::app::route_specs() {
        if spec.path == "/logout" || spec.path == "/login" {
            continue;
        }
        routes += 1;
        let get = spec.method == Method::GET;
        let mut urls = Vec::new();
        for i in 0..walk::params(spec.path) {
            for bad in IDS {
                urls.push((w.fill(spec.path, Some((i, bad))).await, String::new()));
            }
        }
        let path = w.fill(spec.path, None).await;
        // Few bad names get past the extractors to the handlers' own parsing; many mix them.
        let sizes: &[usize] = if get { &[1, 2, 4, 8] } else { &[1, 3, 8] };
        for q in fixed.iter().map(|s| s.to_string()).chain(sizes.iter().map(|n| case(&mut rng, &names, *n))) {
            urls.push((path.clone(), q));
        }
        for (url, q) in urls {
            let token = c.token().await;
            let r = if get {
                let sep = if q.is_empty() { "" } else { "?" };
                c.get(&format!("{url}{sep}{q}")).await
            } else {
                let body = format!("_csrf={token}&{q}");
                c.post_encoded(&url, &body, &[("origin", "http://localhost")]).await
            };
            requests += 1;
            *statuses.entry(r.status.as_u16()).or_insert(0) += 1;
            if r.status.is_server_error() {
                wrong.push(format!("{} {url}?{q} -> {}", spec.method, r.status));
            }
            // A write that ended the session (none should, but the walk goes on as admin).
            if r.location().starts_with("/login") {
                relogins += 1;
                c = w.admin().await;
            }
        }
    }
    eprintln!(
        "fuzz: {routes} routes, {requests} requests (seed {SEED:#x}), {relogins} re-logins, statuses {statuses:?}, {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(wrong.is_empty(), "{} of {requests} requests answered 500:\n{}", wrong.len(), wrong.join("\n"));
    assert!(routes > 300, "the whole route table: {routes}");
}
