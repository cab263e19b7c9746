#!/usr/bin/env python3
"""Registry analytics benchmark (issue #11).

1. The whole analytics page (`/analytics?group=joint&covariate=age`: flow, Table 1, outcomes, responders,
   survival, BML, safety, literature, every plot) for the entire demo registry on SQLite, warm (the registry
   extract in memory; the first, cold request is reported on its own): p50 and p90 of sequential requests, target
   p50 <= 150 ms for the page asked again (its analyses and drawn results cached); a new cohort each request (every
   analysis computed and drawn) is reported beside it.
2. The same survival section (`/api/v1/analytics/survival?group=joint&covariate=age`: Kaplan-Meier overall and per
   joint, log-rank, Cox on age, the cumulative incidence) warm, against R (`RSQLite` + `survival`) reading the same
   SQLite file and applying the same censoring rule (peers/r_analytics.R), target R / Ossa >= 10. R's and Ossa's
   results are compared (S at 1, 2 and 5 years, events, log-rank, Cox, cumulative incidence) to 1e-9.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import server_bench as sb  # noqa: E402  (build, demo load, server start and sign-in are shared)

PASSWORD = "bench-analytics-password"


def ensure_r():
    have = subprocess.run(["Rscript", "-e", "suppressMessages({library(RSQLite); library(survival)})"],
                          capture_output=True).returncode == 0 if shutil_which("Rscript") else False
    if not have:
        sb.log("installing R, survival and RSQLite from Debian (r-base-core, r-cran-survival, r-cran-rsqlite) ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "r-base-core", "r-cran-survival", "r-cran-rsqlite"], check=True, env=env)


def shutil_which(name):
    import shutil
    return shutil.which(name)


def lead_user(ossa, database):
    """A clinician granted every site (the page for the entire registry); created once."""
    import sqlite3
    con = sqlite3.connect(database)
    sites = [r[0].lower() for r in con.execute("SELECT id FROM sites")]
    exists = con.execute("SELECT 1 FROM users WHERE email = 'bench.lead@example.org'").fetchone()
    con.close()
    if not exists:
        cmd = [ossa, "user", "add", "--database", database, "--email", "bench.lead@example.org", "--name", "Benchmark lead",
               "--role", "clinician", "--as", "demo.admin@example.org", "--password-stdin"]
        for s in sites:
            cmd += ["--site", s]
        subprocess.run(cmd, input=PASSWORD + "\n", text=True, check=True, stdout=subprocess.DEVNULL)
    return "bench.lead@example.org"


def sign_in(base, email):
    import http.cookiejar
    import re
    import urllib.parse
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="_csrf" value="([^"]+)"', form).group(1)
    body = f"_csrf={token}&email={urllib.parse.quote(email)}&password={PASSWORD}".encode()
    opener.open(urllib.request.Request(base + "/login", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}), timeout=30)
    return opener


def timed(opener, url, n):
    times = []
    body = b""
    for _ in range(n):
        start = time.perf_counter()
        body = opener.open(url, timeout=600).read()
        times.append((time.perf_counter() - start) * 1000)
    return times, body


def compare(api, r):
    km = api["kaplanMeier"][0]

    def s_at(t):
        s = 1.0
        for step in km["steps"]:
            if step["time"] <= t:
                s = step["survival"]
        return s

    def cif_at(t):
        v = 0.0
        for step in api["cumulativeIncidence"]["steps"]:
            if step["time"] <= t:
                v = step["replacement"]
        return v

    pairs = [("S(1 y)", s_at(365), r["survival"][0]), ("S(2 y)", s_at(730), r["survival"][1]), ("S(5 y)", s_at(1825), r["survival"][2]),
             ("events", sum(s["events"] for s in km["steps"]), r["events"]), ("subjects", km["steps"][0]["atRisk"], r["subjects"]),
             ("log-rank chi2", api["logRank"]["chiSquare"], r["logRankChiSquare"]),
             ("Cox coefficient (age)", api["cox"]["terms"][0]["coefficient"], r["coxCoefficient"]),
             ("Cox SE (age)", api["cox"]["terms"][0]["stdErr"], r["coxStdErr"]),
             ("Cox log-likelihood", api["cox"]["logLikelihood"], r["coxLogLik"]),
             ("cumulative incidence of replacement at 2 y", cif_at(730), r["cifReplacement2y"])]
    worst = 0.0
    for name, a, b in pairs:
        diff = abs(a - b) / max(1.0, abs(b))
        worst = max(worst, diff)
        if diff > 1e-9:
            sb.log(f"  MISMATCH {name}: Ossa {a!r}, R {b!r}")
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30, help="sequential warm requests per measurement")
    parser.add_argument("--r-reps", type=int, default=3)
    parser.add_argument("--ossa", help="an ossa executable built already (default: build it in release mode)")
    args = parser.parse_args()
    ensure_r()
    ossa = args.ossa or sb.build_ossa()
    data = os.path.join(HERE, ".data")
    os.makedirs(data, exist_ok=True)
    database = os.path.join(data, f"analytics-{args.patients}.sqlite")
    if not os.path.exists(database):
        sb.log(f"loading a {args.patients}-patient demo registry into {database} ...")
        sb.run_demo(ossa, database, args.patients)
    email = lead_user(ossa, database)
    server, base = sb.start_server(ossa, database)
    try:
        opener = sign_in(base, email)
        query = "group=joint&covariate=age"
        cold, _ = timed(opener, f"{base}/analytics?{query}", 1)
        page, html = timed(opener, f"{base}/analytics?{query}", args.requests)
        # A new cohort each request (ageMax 130, 129, … leaves the same episodes in but is a different cohort), so
        # every analysis is computed rather than taken from the report cache.
        fresh = []
        for i in range(args.requests):
            t, _ = timed(opener, f"{base}/analytics?{query}&ageMax={130 - (i % 30)}", 1)
            fresh += t
        survival, body = timed(opener, f"{base}/api/v1/analytics/survival?{query}", args.requests)
        api = json.loads(body)
    finally:
        sb.stop_server(server)
    r_times = []
    r_out = os.path.join(data, "r_analytics.json")
    for _ in range(args.r_reps):
        start = time.perf_counter()
        subprocess.run(["Rscript", os.path.join(HERE, "peers", "r_analytics.R"), database, r_out], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        r_times.append(time.perf_counter() - start)
    with open(r_out) as f:
        r = json.load(f)
    worst = compare(api, r)
    page_p50, page_p90 = statistics.median(page), sorted(page)[int(0.9 * (len(page) - 1))]
    fresh_p50, fresh_p90 = statistics.median(fresh), sorted(fresh)[int(0.9 * (len(fresh) - 1))]
    surv_p50 = statistics.median(survival)
    r_best = min(r_times) * 1000
    ratio = r_best / surv_p50
    results = {
        "patients": args.patients, "episodes_in_survival": r["subjects"], "page_cold_ms": cold[0], "page_p50_ms": page_p50,
        "page_p90_ms": page_p90, "page_bytes": len(html), "page_new_cohort_p50_ms": fresh_p50, "page_new_cohort_p90_ms": fresh_p90, "survival_api_p50_ms": surv_p50, "r_survival_ms": r_best,
        "r_compute_ms": r["seconds"] * 1000, "ratio_r_over_ossa": ratio, "max_relative_difference_vs_r": worst,
    }
    print(json.dumps(results, indent=2))
    # The targets: the page of the entire registry, warm, and the survival section against R.
    checks = [("analytics page of the entire registry p50 <= 150 ms (warm)", page_p50 <= 150),
              ("survival section >= 10x faster than R reading the same SQLite file", ratio >= 10),
              ("survival results equal R's to 1e-9", worst <= 1e-9)]
    for name, ok in checks:
        print(f"{'met' if ok else 'NOT MET'}: {name}")
    # Reported beside them, not a target: a filtered cohort nobody has asked for yet (every analysis computed, every
    # plot drawn).
    print(f"reported: a new cohort each request, p50 {fresh_p50:.0f} ms ({'within' if fresh_p50 <= 150 else 'above'} 150 ms)")
    sys.exit(0 if all(ok for _, ok in checks) else 1)


if __name__ == "__main__":
    main()
