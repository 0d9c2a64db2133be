#!/usr/bin/env python3
"""The benchmark: generated data at a scale, the release server, wrk against each page as a
logged-in user, and pgbench replaying that page's own SQL at the same concurrency.

Called by scripts/bench (which builds and installs what is missing). Results go to stdout as a
table and to bench/results/<timestamp>.md.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRM = os.path.join(ROOT, "target", "release", "crm")
PORT = 18080
# The data generator's version (src/seed/scale.rs GENERATOR): an older data set is regenerated.
GENERATOR = 4

# Budgets (p95 server time, ms) by scenario kind: bench/README.md gives each one's reason and
# must say the same.
BUDGETS = {"list": 20, "search": 30, "detail": 15, "dashboard": 200, "write": 50, "opportunity": 20, "pipeline": 50,
           "contract": 20, "ageing": 100, "ageing_admin": 200, "todo": 30, "calendar": 50}


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def log(msg):
    print(msg, flush=True)


def find_pg_bin(name):
    for d in sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: int(v) if v.isdigit() else 0, reverse=True):
        p = os.path.join("/usr/lib/postgresql", d, "bin", name)
        if os.path.exists(p):
            return p
    p = shutil.which(name)
    if p:
        return p
    sys.exit(f"{name} not found (install postgresql)")


class Cluster:
    """The private benchmark cluster, one data folder per scale."""

    def __init__(self, scale):
        self.dir = os.path.join(ROOT, "bench", "data", f"scale-{scale}")
        os.makedirs(self.dir, exist_ok=True)
        self.args = [CRM, "--data-dir", self.dir, "--pg-port", "55440"]

    def start(self):
        # Clusters of other scales share the port: stop them first.
        base = os.path.dirname(self.dir)
        for other in os.listdir(base):
            d = os.path.join(base, other)
            if d != self.dir and os.path.isdir(d):
                subprocess.run([CRM, "--data-dir", d, "db", "stop"], env=self.env(), capture_output=True)
        out = sh(self.args + ["db", "start"], env=self.env())
        self.url = out.strip().split("DATABASE_URL=", 1)[1]
        return self.url

    def stop(self):
        subprocess.run(self.args + ["db", "stop"], env=self.env(), capture_output=True)

    def env(self):
        e = dict(os.environ)
        e.pop("DATABASE_URL", None)
        e["CRM_LOG"] = "warn"
        return e

    def pgdata(self):
        link = os.path.join(self.dir, "pg")
        return os.path.realpath(link)

    def psql(self, sql, db_url=None):
        return sh([find_pg_bin("psql"), db_url or self.url, "-Atqc", sql])

    def tune(self):
        """Settings a production server of this size would have; applied once, then restart."""
        marker = os.path.join(self.dir, "tuned")
        if os.path.exists(marker):
            return
        for s in [
            "shared_buffers = '2GB'",
            "effective_cache_size = '12GB'",
            "work_mem = '16MB'",
            "random_page_cost = 1.1",
            "effective_io_concurrency = 200",
            "max_connections = 200",
            "log_line_prefix = '@@ '",
        ]:
            self.psql(f"ALTER SYSTEM SET {s}")
        self.stop()
        self.start()
        open(marker, "w").write("yes\n")


def serve(db_url):
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": db_url,
        "CRM_BIND": f"127.0.0.1:{PORT}",
        "CRM_LOG": "warn",
        "CRM_DB_MAX_CONNECTIONS": "10",
        "CRM_LOGIN_MAX_FAILURES_PER_IP": "100000",
        # The periodic jobs' statements would land among a page's captured SQL.
        "CRM_JOBS": "false",
    })
    p = subprocess.Popen([CRM, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(ROOT, "bench", "server.log"), "w"))
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return p
        except OSError:
            pass
        time.sleep(0.1)
    p.kill()
    sys.exit("the server did not start; see bench/server.log")


class Session:
    """A logged-in browser: cookie and CSRF token."""

    def __init__(self, login, password):
        self.cookie = ""
        self.csrf = ""
        self.get("/login")
        r, _ = self.post("/login", {"login": login, "password": password})
        if r.status != 303:
            sys.exit(f"login as {login} failed ({r.status})")
        self.get("/")

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        h = {"Host": f"127.0.0.1:{PORT}"}
        if self.cookie:
            h["Cookie"] = self.cookie
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                self.cookie = v.split(";", 1)[0]
        m = re.search(r'name="_csrf" value="([0-9a-f]+)"', data)
        if m:
            self.csrf = m.group(1)
        return r, data

    def get(self, path):
        return self.request("GET", path)

    def form(self, fields):
        return urllib.parse.urlencode({"_csrf": self.csrf, **fields})

    def post(self, path, fields):
        return self.request("POST", path, self.form(fields), {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://127.0.0.1:{PORT}",
        })


def capture_sql(cluster, session, method, path, fields):
    """The statements one request runs, with their parameters filled in (from the server log)."""
    log_path = os.path.join(cluster.pgdata(), "server.log")
    start = os.path.getsize(log_path)
    cluster.psql("ALTER SYSTEM SET log_min_duration_statement = 0")
    cluster.psql("SELECT pg_reload_conf()")
    time.sleep(0.3)
    if method == "GET":
        session.get(path)
    else:
        session.post(path, fields)
    time.sleep(0.3)
    cluster.psql("ALTER SYSTEM RESET log_min_duration_statement")
    cluster.psql("SELECT pg_reload_conf()")
    with open(log_path, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        text = f.read()
    entries = re.split(r"^@@ ", text, flags=re.M)
    statements = []
    pending = None
    current = None
    for e in entries:
        m = re.match(r"LOG:\s+duration: [\d.]+ ms\s+(?:execute [^:]+|statement): (.*)", e, flags=re.S)
        if m:
            if pending:
                statements.append(pending)
            pending = [m.group(1).strip(), {}]
            current = pending
            continue
        if e.startswith("LOG:"):
            # parse / bind lines and others: their DETAIL lines are not ours.
            current = None
            continue
        d = re.match(r"DETAIL:\s+parameters: (.*)", e, flags=re.S)
        if d and current:
            for k, v in re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", d.group(1)):
                current[1][int(k)] = v
    if pending:
        statements.append(pending)
    out = []
    for sql, params in statements:
        # Skip our own probes and the reload.
        if "pg_reload_conf" in sql or "log_min_duration_statement" in sql:
            continue
        out.append((sql.rstrip().rstrip(";") + ";", params))
    return out


def literal(statements):
    """The statements with their parameters written in as literals (each is planned afresh)."""
    out = []
    for sql, params in statements:
        for k in sorted(params, reverse=True):
            sql = re.sub(rf"\${k}(?!\d)", params[k].replace("\\", "\\\\"), sql)
        out.append(sql)
    return out


def prepared(statements):
    """The statements as the app sends them: parameters stay parameters. pgbench (-M prepared)
    passes `:variables` as bind values of statements it prepares once per connection, as the
    app's pool does; the values go in as -D definitions. NULL has no -D form: written in."""
    script, defs = [], []
    for i, (sql, params) in enumerate(statements):
        for k in sorted(params, reverse=True):
            v = params[k]
            if v in ("NULL", "''"):
                # No -D form for these (an empty definition is refused): written in.
                sql = re.sub(rf"\${k}(?!\d)", v, sql)
                continue
            name = f"s{i}p{k}"
            sql = re.sub(rf"\${k}(?!\d)", f":{name}", sql)
            defs.append(f"{name}={v[1:-1].replace(chr(39) * 2, chr(39))}")
        script.append(sql)
    return script, defs


def replayable(statements):
    """A recorded payment cannot simply run again: its number is unique, and the ids its
    transaction got back (the payment, its approval) are literals in the later statements, so a
    committed replay would leave its payment and approval waiting forever and still count the
    amount as received. The replay gives each payment a number of its own and rolls the
    transaction back instead of committing it: all of its work is measured but the commit, and the
    data set stays consistent for later runs. Other statements are replayed as recorded."""
    insert = re.compile(r"\s*INSERT\s+INTO\s+payments\b", re.I)
    if not any(insert.match(s) for s, _ in statements):
        return statements
    out = []
    for s, params in statements:
        if insert.match(s):
            numbers = [k for k, v in params.items() if re.fullmatch(r"'HK\d+'", v)]
            for k in numbers:
                s = re.sub(rf"\${k}(?!\d)", "('HKB-' || txid_current())", s)
            params = {k: v for k, v in params.items() if k not in numbers}
        elif re.fullmatch(r"\s*COMMIT\s*;", s, re.I):
            s = "ROLLBACK;"
        out.append((s, params))
    return out


def app_today():
    """The app's today (CRM_TIMEZONE, default +08:00): a payment may not be dated after it."""
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})", os.environ.get("CRM_TIMEZONE", "+08:00").strip())
    offset = datetime.timedelta(hours=int(m.group(2)), minutes=int(m.group(3))) if m else datetime.timedelta(hours=8)
    if m and m.group(1) == "-":
        offset = -offset
    return datetime.datetime.now(datetime.timezone(offset)).date().isoformat()


def wrk(session, method, path, fields, duration, connections):
    lua = os.path.join(ROOT, "bench", "wrk.lua")
    body = session.form(fields) if method == "POST" else ""
    with open(lua, "w") as f:
        f.write(f"""
wrk.method = "{method}"
wrk.body = {json.dumps(body)}
wrk.headers["Cookie"] = {json.dumps(session.cookie)}
wrk.headers["Origin"] = "http://127.0.0.1:{PORT}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
-- Every answer but the page's own (200, or 303 after a form POST) counts against the page: a
-- redirect to /login after a lost session is fast and would otherwise pass as a success.
-- Counted per thread, summed in done().
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
init = function(args) bad = 0; last_bad = 0 end
response = function(status, headers, body)
  if status ~= {303 if method == "POST" else 200} then bad = bad + 1; last_bad = status end
end
done = function(summary, latency, requests)
  local b, code = 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    if t:get("last_bad") ~= 0 then code = t:get("last_bad") end
  end
  io.write(string.format("RESULT %.3f %.3f %.3f %.2f %d %d %d\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.timeout, b, code))
end
""")
    out = sh(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "-s", lua,
              f"http://127.0.0.1:{PORT}{path}"])
    m = re.search(r"RESULT ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+) (\d+)", out)
    p50, p95, p99, rps, socket_errors, bad, code = (float(x) for x in m.groups())
    # (p50, p95, p99, req/s, failed answers, the last failing status or 0 for socket errors)
    return p50, p95, p99, rps, int(socket_errors + bad), int(code)


def pgbench(cluster, statements, duration, connections):
    """The page's own SQL replayed at the same concurrency: as prepared statements with their
    parameters, as the app runs it. Returns (statements per page per second, how): the literal
    replay ("literal") only when the prepared one cannot run; None when neither gave a figure."""
    script = os.path.join(ROOT, "bench", "page.sql")
    # The session settings the app's connections have (src/db/mod.rs).
    env = dict(os.environ, PGOPTIONS="-c max_parallel_workers_per_gather=0")
    sql, defs = prepared(statements)
    attempts = [("prepared", sql, defs, "prepared"), ("literal", literal(statements), [], "extended")]
    for how, lines, variables, mode in attempts:
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        args = [find_pg_bin("pgbench"), "-n", "-M", mode, f"-c{connections}", "-j2", f"-T{duration}", "-f", script]
        for d in variables:
            args += ["-D", d]
        r = subprocess.run(args + [cluster.url], env=env, text=True, capture_output=True)
        m = re.search(r"tps = ([\d.]+)", r.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
        if r.returncode == 0 and m and float(m.group(1)) > 0 and not (failed and int(failed.group(1)) > 0):
            return float(m.group(1)), how
        log(f"    pgbench {how} replay failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
    return None, "none"


def calibrate(cluster, seconds=10):
    """How fast this machine is right now: pgbench's select-only script, one client, prepared,
    on a fixed table of its own (made once in a database of its own). The verdicts scale each
    p95 by this against the reference run's (bench/README.md), so a slow machine does not fail
    pages and a fast one does not pass them."""
    url = cluster.url.rsplit("/", 1)[0] + "/bench_calibration"
    if cluster.psql("SELECT count(*) FROM pg_database WHERE datname = 'bench_calibration'").strip() == "0":
        cluster.psql("CREATE DATABASE bench_calibration")
        sh([find_pg_bin("pgbench"), "-i", "-q", "-s", "10", url])
    out = sh([find_pg_bin("pgbench"), "-n", "-S", "-M", "prepared", "-c1", "-j1", f"-T{seconds}", url])
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def reference_calibration():
    """The calibration figure of the reference run, as bench/README.md gives it."""
    try:
        text = open(os.path.join(ROOT, "bench", "README.md"), encoding="utf-8").read()
    except OSError:
        return None
    m = re.search(r"reference calibration:\s*([\d,.]+)\s*tps", text)
    return float(m.group(1).replace(",", "")) if m else None


def at_once(n, action):
    """Run action(i) for i in 0..n on n threads released together; returns [(status, ms)]."""
    import threading
    gate = threading.Barrier(n)
    out = [None] * n

    def run(i):
        gate.wait()
        started = time.perf_counter()
        status = action(i)
        out[i] = (status, (time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def contention_rows(cluster, rep, customer, method):
    """Writes that meet on one row: 50 follow-ups on one customer at once (each must land), and
    20 users claiming one pool customer at once (exactly one may win). Figures and the
    correctness check in one row each: (name, n, p50, p95, max, verdict)."""
    rows = []
    count = f"SELECT count(*) FROM followups WHERE customer_id = {customer}"
    before = int(cluster.psql(count))
    answers = at_once(50, lambda i: rep.post(f"/customers/{customer}/followups",
                                              {"method_id": method, "content": f"contention {i}"})[0].status)
    landed = int(cluster.psql(count)) - before
    ms = sorted(t for _, t in answers)
    good = all(st == 303 for st, _ in answers) and landed == 50
    rows.append(("50 follow-ups on one customer at once, rep", 50, ms[len(ms) // 2], ms[int(len(ms) * 0.95) - 1], ms[-1],
                 "ok" if good else f"FAILED ({landed} of 50 stored)"))
    target = cluster.psql("""SELECT id FROM customers WHERE owner_id IS NULL AND deleted_at IS NULL AND pool_id IS NOT NULL
        ORDER BY id DESC LIMIT 1""").strip()
    logins = cluster.psql("""SELECT login FROM users WHERE status = 'active' AND login ~ '^b[0-9]{4}$'
        ORDER BY id DESC LIMIT 20""").split()
    if target and len(logins) == 20:
        claimers = [Session(login, "bench1234") for login in logins]
        answers = at_once(20, lambda i: claimers[i].post(f"/pool/customers/{target}/claim", {})[0].status)
        winners = int(cluster.psql(f"SELECT count(*) FROM pool_claims WHERE customer_id = {target}"))
        owner = cluster.psql(f"SELECT coalesce(u.login, '') FROM customers c LEFT JOIN users u ON u.id = c.owner_id WHERE c.id = {target}").strip()
        ms = sorted(t for _, t in answers)
        good = winners == 1 and owner in logins and all(st < 500 for st, _ in answers)
        rows.append(("20 users claim one pool customer at once", 20, ms[len(ms) // 2], ms[int(len(ms) * 0.95) - 1], ms[-1],
                     "ok (one winner)" if good else f"FAILED ({winners} claims recorded)"))
    for r in rows:
        log(f"  {r[0]:<44} p50 {r[2]:7.1f}  p95 {r[3]:7.1f}  max {r[4]:7.1f} ms  [{r[5]}]")
    return rows


def mixed_load(cluster, status, method, users=50, seconds=60):
    """50 reps at work at once for a minute, each with a pause of 0.5–2 s between actions (a
    fixed seed, so runs compare): open their list, filter it, open a customer, add a follow-up,
    search, claim from the pool. Returns rows (action, requests, p50, p95, errors, verdict); every
    answer but the page's own is an error."""
    import random
    import threading
    logins = cluster.psql(f"""SELECT u.login FROM users u WHERE u.status = 'active' AND u.login ~ '^b[0-9]{{4}}$'
        AND EXISTS (SELECT 1 FROM customers c WHERE c.owner_id = u.id AND c.deleted_at IS NULL)
        ORDER BY u.id LIMIT {users} OFFSET 200""").split()
    pool = cluster.psql(f"""SELECT id FROM customers WHERE owner_id IS NULL AND deleted_at IS NULL AND pool_id IS NOT NULL
        ORDER BY id LIMIT {users * 20}""").split()
    sessions = [Session(login, "bench1234") for login in logins]
    own = {}
    for login in logins:
        own[login] = cluster.psql(f"""SELECT c.id FROM customers c JOIN users u ON u.id = c.owner_id
            WHERE u.login = '{login}' AND c.deleted_at IS NULL ORDER BY c.id LIMIT 50""").split()
    results = []
    lock = threading.Lock()
    deadline = time.time() + seconds

    def work(i):
        rnd = random.Random(1000 + i)
        s, mine = sessions[i], own[logins[i]]
        claims = pool[i::len(sessions)]
        while time.time() < deadline:
            action = rnd.choice(["list", "list", "filter", "detail", "detail", "follow-up", "search", "claim"])
            if action == "list":
                call, expected = (lambda: s.get("/customers?scene=all")), 200
            elif action == "filter":
                call, expected = (lambda: s.get(f"/customers?scene=all&status={status}")), 200
            elif action == "detail":
                cid = rnd.choice(mine)
                call, expected = (lambda: s.get(f"/customers/{cid}")), 200
            elif action == "follow-up":
                cid = rnd.choice(mine)
                call, expected = (lambda: s.post(f"/customers/{cid}/followups",
                                                 {"method_id": method, "content": "mixed load"})), 303
            elif action == "search":
                call, expected = (lambda: s.get("/customers?scene=all&q=" + urllib.parse.quote("科技"))), 200
            else:
                if not claims:
                    continue
                cid = claims.pop()
                call, expected = (lambda: s.post(f"/pool/customers/{cid}/claim", {})), 303
            started = time.perf_counter()
            try:
                code = call()[0].status
            except OSError:
                code = 0
            with lock:
                results.append((action, (time.perf_counter() - started) * 1000, code == expected, code))
            time.sleep(rnd.uniform(0.5, 2.0))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = []
    for action in ["list", "filter", "detail", "follow-up", "search", "claim"]:
        mine = [r for r in results if r[0] == action]
        if not mine:
            continue
        ms = sorted(r[1] for r in mine)
        errors = [r[3] for r in mine if not r[2]]
        verdict = "ok" if not errors else f"FAILED ({len(errors)} errors, HTTP {sorted(set(errors))})"
        rows.append((action, len(mine), ms[len(ms) // 2], ms[max(0, int(len(ms) * 0.95) - 1)], len(errors), verdict))
        log(f"  mixed {action:<10} {len(mine):5d} requests  p50 {rows[-1][2]:7.1f}  p95 {rows[-1][3]:7.1f} ms  [{verdict}]")
    return rows


def scope_rows(cluster):
    """Scope resolution at the top of the tree (budget 2 ms), timed inside the app the way each
    request resolves it (`crm scope-timing`): the CEO's recursive subordinates, and the CEO's
    department with every sub-department."""
    top = cluster.psql("""SELECT u.id FROM users u WHERE u.superior_id IS NULL
        AND EXISTS (SELECT 1 FROM users s WHERE s.superior_id = u.id) ORDER BY u.id LIMIT 1""").strip()
    env = cluster.env()
    env["DATABASE_URL"] = cluster.url
    out = sh([CRM, "scope-timing", "--user", top], env=env)
    names = {"subordinates": "self + subordinates, CEO", "dept_tree": "department + sub-departments, CEO"}
    rows = []
    for line in out.splitlines():
        key, n, mean, p95 = line.split()
        rows.append((names[key], int(n), float(mean), float(p95)))
        log(f"  scope: {names[key]:<36} {int(n):6d} users  mean {float(mean):5.2f}  p95 {float(p95):5.2f} ms")
    return rows


def peak_rss_mb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def import_customers(cluster, session, server, rows):
    """Import a generated workbook of `rows` customers (5% duplicates, 1% bad rows) as a user
    would: upload, map, start, then wait for the batch. Returns (seconds from upload to done,
    created, skipped, failed, server RSS growth MB). The imported customers are removed again
    so the data set stays as generated."""
    out = os.path.join(ROOT, "bench", f"import-{rows}.xlsx")
    env = cluster.env()
    env["DATABASE_URL"] = cluster.url
    sh([CRM, "bench-import-file", "--rows", str(rows), "--out", out], env=env)
    data = open(out, "rb").read()
    try:
        with open(f"/proc/{server.pid}/clear_refs", "w") as f:
            f.write("5")  # resets the peak (VmHWM): the growth measured is the import's own
    except OSError:
        pass
    before = rss_mb(server.pid)
    started = time.time()
    boundary = "----crmbenchboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"customers.xlsx\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    r, _ = session.request("POST", f"/customers/import?_csrf={session.csrf}", body, {
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Origin": f"http://127.0.0.1:{PORT}"})
    mapping = r.getheader("Location")
    if r.status != 303 or not mapping:
        return None
    session.get(mapping)
    r, _ = session.post(mapping, {"sheet": "Sheet1", "sheets": "Sheet1", "col_0": "name", "col_1": "mobile",
                                  "col_2": "industry_id", "col_3": "description", "dup": "skip", "owner": "me",
                                  "action": "start"})
    batch = (r.getheader("Location") or "").rsplit("/", 1)[-1]
    if r.status != 303 or not batch.isdigit():
        return None
    while True:
        state = cluster.psql(f"SELECT status || ' ' || created || ' ' || skipped || ' ' || failed FROM import_batches WHERE id = {batch}").split()
        if state[0] not in ("queued", "running"):
            break
        time.sleep(0.2)
    elapsed = time.time() - started
    peak = rss_mb(server.pid, "VmHWM")
    # The imported customers go again so the data set stays as generated: without triggers
    # (nothing hangs off them yet; one owner's counter row updated 100,000 times in a
    # transaction crawls), the owners' counters recounted.
    cluster.psql(f"""BEGIN;
        SET LOCAL session_replication_role = replica;
        CREATE TEMP TABLE owners ON COMMIT DROP AS SELECT DISTINCT owner_id FROM customers WHERE import_batch_id = {batch};
        DELETE FROM operation_logs WHERE entity = 'customer' AND action = 'import'
          AND entity_id IN (SELECT id FROM customers WHERE import_batch_id = {batch});
        DELETE FROM customers WHERE import_batch_id = {batch};
        DELETE FROM owner_counts c USING owners o WHERE c.entity = 'customer' AND c.owner_id = o.owner_id;
        INSERT INTO owner_counts (entity, owner_id, n) SELECT 'customer', c.owner_id, count(*)
          FROM customers c JOIN owners o ON o.owner_id = c.owner_id WHERE c.deleted_at IS NULL GROUP BY 2;
        DELETE FROM import_uploads WHERE id = (SELECT upload_id FROM import_batches WHERE id = {batch});
        DELETE FROM import_batches WHERE id = {batch};
        COMMIT;""")
    os.remove(out)
    return elapsed, int(state[1]), int(state[2]), int(state[3]), peak - before


def rss_mb(pid, field="VmRSS"):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def export_filter(cluster, total):
    """An admin's customer list of about 100,000 rows (the export budget's size): the whole list
    when it is about that big, else the province (with its cities) whose customers come closest."""
    if total <= 150_000:
        return "scene=all"
    province = cluster.psql("""SELECT coalesce(r.parent_id, r.id) FROM customers c JOIN dict_items r ON r.id = c.region_id
        WHERE c.deleted_at IS NULL AND c.owner_id IS NOT NULL
        GROUP BY 1 ORDER BY abs(count(*) - 100000) LIMIT 1""").strip()
    return f"scene=all&region={province}"


def export_rows(session, pid, flt, only):
    """Time exporting the customer list `flt` (all fields) as .xlsx and as CSV, one request at a
    time, reading the whole download, and the server's RSS growth over it: the peak resident size
    is reset first (/proc/<pid>/clear_refs), so the growth is that export's own. Budget (ARCHITECTURE
    §5, the import/export issue): 100,000 rows in 10 s, RSS growth at most 100 MB."""
    _, page = session.get("/export/customers?" + flt)
    m = re.search(r"(?:全部|All) ([\d,]+) (?:行|rows)", page)
    count = int(m.group(1).replace(",", "")) if m else 0
    out = []
    for fmt in ["xlsx", "csv"]:
        name = f"export {count:,} customers {fmt}, admin"
        if only and only not in name:
            continue
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        before = rss_mb(pid)
        body = session.form({"filter": flt, "rows": "all", "columns": "all", "format": fmt})
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=300)
        started = time.time()
        c.request("POST", "/export/customers", body=body, headers={
            "Host": f"127.0.0.1:{PORT}", "Cookie": session.cookie, "Origin": f"http://127.0.0.1:{PORT}",
            "Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        size = 0
        while True:
            chunk = r.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
        seconds = time.time() - started
        growth = max(0.0, rss_mb(pid, "VmHWM") - before)
        ok = "ok" if r.status == 200 and seconds <= 10 and growth <= 100 else "OVER" if r.status == 200 else f"HTTP {r.status}"
        out.append((name, count, seconds, size / 1e6, growth, ok))
        log(f"  {name:<36} {seconds:6.2f} s  {size / 1e6:7.1f} MB file  RSS +{growth:5.1f} MB  [{ok}]")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--duration", type=int, default=0, help="seconds per measurement (default 10; 3 below scale 0.5)")
    ap.add_argument("--connections", type=int, default=10, help="concurrency (the app's DB pool size)")
    ap.add_argument("--only", default="", help="run scenarios whose name contains this")
    ap.add_argument("--keep", action="store_true", help="leave the cluster running")
    a = ap.parse_args()
    if a.duration <= 0:
        a.duration = 10 if a.scale >= 0.5 else 3
    scale = ("%g" % a.scale)

    cluster = Cluster(scale)
    cluster.start()
    cluster.tune()
    meta = "SELECT coalesce(string_agg(key || '=' || value, ',' ORDER BY key), '') FROM app_meta WHERE key IN ('scale', 'scale_generator')"
    have = cluster.psql(meta).strip() if cluster.psql("SELECT to_regclass('app_meta') IS NOT NULL").strip() == "t" else ""
    want = f"scale={scale},scale_generator={GENERATOR}"
    if have and have != want:
        # Made by an older generator (or another scale): start again from an empty cluster.
        log(f"data set {have!r} is not {want!r}: regenerating")
        cluster.stop()
        shutil.rmtree(cluster.dir)
        os.makedirs(cluster.dir)
        cluster.start()
        cluster.tune()
        have = ""
    if have != want:
        log(f"generating data at scale {scale} (once; reused afterwards)")
        env = cluster.env()
        env["DATABASE_URL"] = cluster.url
        subprocess.run([CRM, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([CRM, "seed", "--scale", scale], env=env, check=True)
        # A fresh load has no visibility map: no index-only scans until autovacuum gets to it,
        # which it would do in the middle of the measurements. Settle the database first.
        started = time.time()
        cluster.psql("VACUUM (ANALYZE)")
        log(f"vacuumed in {time.time() - started:.0f} s")
    else:
        env = cluster.env()
        env["DATABASE_URL"] = cluster.url
        subprocess.run([CRM, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    env = cluster.env()
    env["DATABASE_URL"] = cluster.url
    if cluster.psql("SELECT count(*) FROM users WHERE login = 'bench_admin'").strip() == "0":
        env["CRM_ADMIN_PASSWORD"] = "bench1234admin"
        subprocess.run([CRM, "user", "create-admin", "--login", "bench_admin", "--name", "Bench Admin"], env=env, check=True, stdout=subprocess.DEVNULL)

    # Who to be: a rep with a typical book, a region head (~5% of customers), a super admin.
    rep = cluster.psql("""SELECT u.login FROM users u JOIN customers c ON c.owner_id = u.id AND c.deleted_at IS NULL
        WHERE u.login ~ '^b[0-9]{4}$' GROUP BY u.login ORDER BY count(*) DESC OFFSET (SELECT count(*) / 4 FROM users) LIMIT 1""").strip()
    manager = cluster.psql("""SELECT h.login FROM departments r JOIN users h ON h.id = r.head_id
        WHERE r.parent_id = (SELECT id FROM departments WHERE parent_id IS NULL ORDER BY id LIMIT 1) ORDER BY r.id LIMIT 1""").strip()
    total = int(cluster.psql("SELECT count(*) FROM customers WHERE deleted_at IS NULL"))
    rep_customer = cluster.psql(f"SELECT c.id FROM customers c JOIN users u ON u.id = c.owner_id WHERE u.login = '{rep}' ORDER BY c.id LIMIT 1").strip()
    some_customer = cluster.psql("SELECT id FROM customers ORDER BY id OFFSET (SELECT count(*) / 2 FROM customers) LIMIT 1").strip()
    status = cluster.psql("SELECT id FROM dict_items WHERE dict = 'customer_status' AND code = 'basic'").strip()
    province = cluster.psql("SELECT id FROM dict_items WHERE dict = 'region' AND label_zh = '广东'").strip()
    method = cluster.psql("SELECT id FROM dict_items WHERE dict = 'followup_method' AND code = 'phone'").strip()
    some_opportunity = cluster.psql("SELECT id FROM opportunities ORDER BY id OFFSET (SELECT count(*) / 2 FROM opportunities) LIMIT 1").strip()
    # An approved contract with a payment plan, from the middle of the table.
    some_contract = cluster.psql("""SELECT p.contract_id FROM payment_plans p
        JOIN contracts k ON k.id = p.contract_id AND k.status = 'approved' AND k.deleted_at IS NULL
        WHERE p.term = 1 ORDER BY p.contract_id OFFSET (SELECT count(*) / 2 FROM payment_plans WHERE term = 1) LIMIT 1""").strip()
    # The rep's approved contract with the most room left (amount less confirmed and waiting
    # payments): the payment scenario books 1.00 on it per request, replays included.
    pay_contract = cluster.psql(f"""SELECT k.id FROM contracts k JOIN users u ON u.id = k.owner_id
        WHERE u.login = '{rep}' AND k.status = 'approved' AND k.deleted_at IS NULL
        ORDER BY k.amount - k.received - coalesce((SELECT sum(p.amount) FROM payments p WHERE p.contract_id = k.id
                                                   AND p.status = 'pending' AND p.deleted_at IS NULL), 0) DESC, k.id
        LIMIT 1""").strip()

    # The machine's speed now against the reference run's: every p95 is judged scaled by it.
    calibration = calibrate(cluster)
    reference = reference_calibration()
    speed = calibration / reference if reference else 1.0
    log(f"calibration: {calibration:,.0f} tps (select-only, 1 client); reference {reference or 'unknown'}; "
        f"p95 scaled by {speed:.2f}")
    server = serve(cluster.url)
    try:
        users = {"rep": Session(rep, "bench1234"), "manager": Session(manager, "bench1234"), "admin": Session("bench_admin", "bench1234admin")}
        # The user with the most schedule entries: the calendar feed's heaviest reader.
        busy = cluster.psql("""SELECT u.login FROM events e JOIN users u ON u.id = e.owner_id
            WHERE e.deleted_at IS NULL AND u.login ~ '^b[0-9]{4}$' GROUP BY u.login ORDER BY count(*) DESC LIMIT 1""").strip()
        if busy:
            users["busy"] = Session(busy, "bench1234")
        visible = {}
        for who, s in users.items():
            _, page = s.get("/customers?scene=all")
            m = re.search(r'class="muted">\D*([\d,]+)\s*·', page)
            visible[who] = m.group(1) if m else "?"
        deep = {"rep": 2, "manager": 100, "admin": 1000}
        scenarios = []
        for who in ["rep", "manager", "admin"]:
            scenarios += [
                (f"customer list, {who}", "list", who, "GET", "/customers?scene=all", {}),
                (f"list status+region, {who}", "list", who, "GET", f"/customers?scene=all&status={status}&region={province}", {}),
                (f"list deep page {deep[who]}, {who}", "list", who, "GET", f"/customers?scene=all&page={deep[who]}", {}),
            ]
        for who in ["manager", "admin"]:
            scenarios += [
                (f"search 4 chars 华信科技, {who}", "search", who, "GET", "/customers?scene=all&q=" + urllib.parse.quote("华信科技"), {}),
                (f"search 2 chars 华信, {who}", "search", who, "GET", "/customers?scene=all&q=" + urllib.parse.quote("华信"), {}),
                (f"search phone 1388, {who}", "search", who, "GET", "/customers?scene=all&q=1388", {}),
            ]
        # A term a fifth of all companies carry: the count stops at 1,000.
        scenarios.append(("search common term 科技, manager", "search", "manager", "GET",
                          "/customers?scene=all&q=" + urllib.parse.quote("科技"), {}))
        # A term about 5% of customers carry (50,000 at scale 1) but only a few of a rep's: a
        # small scope should read the owner's few hundred rows, not the keyword's thousands.
        for who in ["rep", "manager", "admin"]:
            scenarios.append((f"search 5% term 汽车配件, {who}", "search", who, "GET",
                              "/customers?scene=all&q=" + urllib.parse.quote("汽车配件"), {}))
        scenarios += [
            ("customer detail, admin", "detail", "admin", "GET", f"/customers/{some_customer}", {}),
            ("customer timeline, admin", "detail", "admin", "GET", f"/customers/{some_customer}?tab=timeline", {}),
            ("global search 华信, manager", "search", "manager", "GET", "/search?q=" + urllib.parse.quote("华信"), {}),
            ("add a follow-up, rep", "write", "rep", "POST", f"/customers/{rep_customer}/followups",
             {"method_id": method, "content": "benchmark follow-up"}),
            ("contact list, manager", "list", "manager", "GET", "/contacts?scene=all", {}),
            ("follow-up records, manager", "list", "manager", "GET", "/followups", {}),
        ]
        for who in ["rep", "manager", "admin"]:
            scenarios.append((f"opportunity list, {who}", "opportunity", who, "GET", "/opportunities?scene=all", {}))
        scenarios += [
            ("opportunity board, manager", "pipeline", "manager", "GET", "/opportunities/board", {}),
            ("opportunity forecast, manager", "pipeline", "manager", "GET", "/opportunities/forecast", {}),
            ("opportunity detail, admin", "opportunity", "admin", "GET", f"/opportunities/{some_opportunity}", {}),
            ("product list, rep", "list", "rep", "GET", "/products?scene=all", {}),
        ]
        for who in ["rep", "manager", "admin"]:
            scenarios.append((f"contract list, {who}", "contract", who, "GET", "/contracts?scene=all", {}))
        if some_contract:
            scenarios.append(("contract detail, admin", "contract", "admin", "GET", f"/contracts/{some_contract}", {}))
        scenarios += [
            ("payment list, manager", "contract", "manager", "GET", "/payments?scene=all", {}),
            ("receivables ageing, manager", "ageing", "manager", "GET", "/payments/ageing", {}),
            ("receivables ageing, admin", "ageing_admin", "admin", "GET", "/payments/ageing", {}),
        ]
        if pay_contract:
            # Recorded and submitted (with no enabled payment flow it is confirmed at once).
            scenarios.append(("record a payment, rep", "write", "rep", "POST", "/payments",
                              {"contract_id": pay_contract, "amount": "1.00", "paid_on": app_today()}))
        # Daily work: the page a rep opens every morning, the task inbox, a manager's month and the
        # calendar feed a phone polls (its private URL made through the page, as a user would).
        scenarios += [
            ("to-do centre, rep", "todo", "rep", "GET", "/todo", {}),
            ("to-do centre, manager", "todo", "manager", "GET", "/todo", {}),
            ("task inbox, rep", "todo", "rep", "GET", "/tasks?view=inbox", {}),
            ("task team view, manager", "list", "manager", "GET", "/tasks?view=team", {}),
            ("month calendar, manager", "calendar", "manager", "GET", "/calendar?view=month", {}),
            ("work logs received, manager", "list", "manager", "GET", "/worklogs?tab=received", {}),
        ]
        if "busy" in users:
            users["busy"].post("/calendar/feed", {})
            _, page = users["busy"].get("/calendar")
            m = re.search(r'id="feed-url" value="([^"]+)"', page)
            if m:
                feed = re.sub(r"^https?://[^/]+", "", m.group(1))
                scenarios.append(("calendar feed (ICS), busy user", "calendar", "busy", "GET", feed, {}))
        # Pages of modules that have landed.
        for path, kind, name in [("/leads?scene=all", "list", "lead list"), ("/pool", "list", "pool list"),
                                 ("/dashboard", "dashboard", "dashboard")]:
            r, _ = users["manager"].get(path)
            if r.status == 200:
                scenarios.append((f"{name}, manager", kind, "manager", "GET", path, {}))
        if a.only:
            scenarios = [s for s in scenarios if a.only in s[0]]

        rows = []
        for name, kind, who, method_, path, fields in scenarios:
            s = users[who]
            budget = BUDGETS[kind]
            r, _ = s.post(path, fields) if method_ == "POST" else s.get(path)
            # A page that answers anything but its page (an error, a redirect to /login) is not
            # measured as a fast success: it is a failed row, and the run fails.
            expected = 303 if method_ == "POST" else 200
            if r.status != expected:
                log(f"  {name}: HTTP {r.status} [FAILED]")
                rows.append((name, None, None, None, None, None, None, 0, budget, f"FAILED (HTTP {r.status})"))
                continue
            statements = capture_sql(cluster, s, method_, path, fields)
            if method_ == "POST":
                statements = replayable(statements)
            # Warm the caches the way a server in use has them: the first requests after a start
            # read the page's indexes into shared buffers.
            wrk(s, method_, path, fields, 2, a.connections)
            # Server time: one request at a time (no queueing behind other clients on 2 cores).
            p50, p95, p99, _, failed1, code1 = wrk(s, method_, path, fields, max(2, a.duration // 2), 1)
            # Throughput at the database's concurrency, beside the page's own SQL at the same.
            _, _, _, rps, failed, code = wrk(s, method_, path, fields, a.duration, a.connections)
            tps, how = pgbench(cluster, statements, a.duration, a.connections) if statements else (None, "none")
            ratio = rps / tps if tps else None
            failed += failed1
            scaled = p95 * speed
            if failed:
                ok = f"FAILED ({failed} answers{f', HTTP {code or code1}' if (code or code1) else ''})"
            elif rps == 0 or p50 == 0:
                # Not one response within the run: slower than the run itself.
                ok = "NO RESPONSE"
            else:
                ok = "ok" if scaled <= budget else "OVER"
            sql_figure = (tps, how)
            rows.append((name, p50, p95, p99, rps, sql_figure, ratio, len(statements), budget, ok))
            shown = f"{tps:8.1f}/s {how}" if tps else "   — (no replay)"
            log(f"  {name:<36} p50 {p50:7.2f}  p95 {p95:7.2f} (scaled {scaled:7.2f})  p99 {p99:7.2f} ms  {rps:8.1f} req/s  SQL {shown}  [{ok}]")
        rss = peak_rss_mb(server.pid)
        bulk = []
        if not a.only or a.only in "import customers":
            # Before the exports, whose figures should not include these rows.
            n = int(100_000 * min(a.scale, 1.0))
            result = import_customers(cluster, users["admin"], server, n)
            if result is None:
                bulk.append((f"import {n:,} customers (.xlsx), admin", 0, "", 0, 20, "FAILED"))
            else:
                secs, created, skipped, failed, growth = result
                ok = "ok" if secs <= 20 and growth <= 100 else "OVER"
                bulk.append((f"import {n:,} customers (.xlsx), admin", secs,
                             f"{created:,} created, {skipped:,} duplicates skipped, {failed:,} rows refused", growth, 20, ok))
                log(f"  import {n} customers: {secs:.1f} s, {created} created, {skipped} skipped, {failed} failed, RSS +{growth:.0f} MB [{ok}]")
        mixed = []
        if not a.only or "mixed" in a.only:
            mixed = mixed_load(cluster, status, method)
        contention = []
        if not a.only or "contention" in a.only:
            contention = contention_rows(cluster, users["rep"], rep_customer, method)
        # Exports last: their RSS is measured on its own (the peak above is the pages').
        exports = export_rows(users["admin"], server.pid, export_filter(cluster, total), a.only)
        scopes = scope_rows(cluster) if not a.only or "scope" in a.only else []
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if not a.keep:
            cluster.stop()

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    head = (f"# Benchmark {stamp}\n\nScale {scale}: {total:,} customers. Users: rep `{rep}` sees {visible['rep']}, "
            f"manager `{manager}` sees {visible['manager']}, admin sees {visible['admin']}.\n"
            f"Latency (p50/p95/p99) is server time: one client at a time. Throughput: {a.connections} concurrent "
            f"clients (the app's pool size) for {a.duration} s, beside pgbench replaying the page's own SQL at the same "
            f"concurrency; page/SQL near 1 means the application adds little. Release build on {os.cpu_count()} "
            f"cores. Server peak RSS: {rss:.0f} MB (budget 100 MB).\n\n"
            f"Calibration: {calibration:,.0f} tps (pgbench select-only, one client, prepared, 10 s); the reference "
            f"run's {f'{reference:,.0f}' if reference else 'unknown'} (bench/README.md). Each budget is judged on the "
            f"p95 scaled by {speed:.2f} (this run's speed against the reference's); both are shown. The page's SQL is "
            f"replayed as prepared statements with its parameters, as the app runs it (marked `literal` where only "
            f"the literal replay ran; — where neither did).\n\n")
    table = ("| scenario | p50 ms | p95 ms | p95 scaled | p99 ms | req/s (10 clients) | page SQL/s (pgbench) | page/SQL | statements | budget p95 | |\n"
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    for r in rows:
        if r[1] is None:
            table += f"| {r[0]} | — | — | — | — | — | — | — | — | {r[8]} | {r[9]} |\n"
            continue
        tps, how = r[5]
        sql = f"{tps:.1f}{' literal' if how == 'literal' else ''}" if tps else "— (no replay)"
        ratio = f"{r[6]:.2f}" if r[6] else "—"
        table += (f"| {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[2] * speed:.2f} | {r[3]:.2f} | {r[4]:.1f} | {sql} | {ratio} "
                  f"| {r[7]} | {r[8]} | {r[9]} |\n")
    if bulk:
        table += ("\nBulk work, end to end (upload to the batch's last row; the server's RSS sampled meanwhile):\n\n"
                  "| job | seconds | result | RSS growth MB | budget s | |\n|---|---:|---|---:|---:|---|\n")
        for name, secs, result, growth, budget, ok in bulk:
            table += f"| {name} | {secs:.1f} | {result} | {growth:.0f} | {budget} | {ok} |\n"
    if mixed:
        table += ("\nMixed load: 50 reps at once for 60 s, each pausing 0.5–2 s between actions (list, filter, open a "
                  "customer, add a follow-up, search, claim from the pool); p95 per action, every answer checked:\n\n"
                  "| action | requests | p50 ms | p95 ms | errors | |\n|---|---:|---:|---:|---:|---|\n")
        for action, n, p50, p95, errors, ok in mixed:
            table += f"| {action} | {n} | {p50:.1f} | {p95:.1f} | {errors} | {ok} |\n"
    if contention:
        table += ("\nWrites that meet on one row (all requests released at once, so they queue on 2 cores and one row "
                  "lock: the times are for the record, the verdict is the outcome check):\n\n"
                  "| scenario | requests | p50 ms | p95 ms | max ms | |\n|---|---:|---:|---:|---:|---|\n")
        for name, n, p50, p95, top, ok in contention:
            table += f"| {name} | {n} | {p50:.1f} | {p95:.1f} | {top:.1f} | {ok} |\n"
    if exports:
        table += ("\nExports (the admin's customer list, all fields, one request; the whole download read; RSS growth: the "
                  "server's peak during the export over its size before):\n\n"
                  "| scenario | rows | seconds | file MB | RSS growth MB | budget | |\n|---|---:|---:|---:|---:|---|---|\n")
        for name, count, seconds, mb, growth, ok in exports:
            table += f"| {name} | {count:,} | {seconds:.2f} | {mb:.1f} | {growth:.1f} | 10 s, 100 MB | {ok} |\n"
    if scopes:
        table += ("\nScope resolution (the owner set every request resolves, timed in the app over 500 runs):\n\n"
                  "| scope | users in the set | mean ms | p95 ms | budget ms (p95, scaled) | |\n|---|---:|---:|---:|---:|---|\n")
        for name, n, mean, p95 in scopes:
            table += f"| {name} | {n:,} | {mean:.2f} | {p95:.2f} | 2 | {'ok' if p95 * speed <= 2 else 'OVER'} |\n"
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", f"{stamp}-scale-{scale}.md")
    open(path, "w").write(head + table)
    print()
    print(head + table)
    print(f"written to {os.path.relpath(path, ROOT)}")
    failures = [r[0] for r in rows if r[9].startswith("FAILED") or r[9] == "NO RESPONSE"]
    failures += [b[0] for b in bulk if b[5] == "FAILED"]
    failures += [c[0] for c in contention if c[5].startswith("FAILED")]
    failures += [f"mixed {m[0]}" for m in mixed if m[5].startswith("FAILED")]
    if failures:
        sys.exit(f"failed: {', '.join(failures)}")


if __name__ == "__main__":
    main()
