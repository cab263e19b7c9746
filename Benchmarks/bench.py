"""Survival benchmark driver: Ossa vs R `survival` vs lifelines, measured in the same run.

Every tool reads the same CSV (parse time reported separately), keeps the data in memory and is
timed on (1) Kaplan-Meier overall and per group plus the 3-group log-rank test and (2) Cox
proportional hazards with Efron ties on age + bmi. Times are the minimum over --reps repetitions.
Results are checked against R to 1e-9 (relative for large values).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, ".data")
GEN = os.path.join(ROOT, "Tests", "OssaStatsTests", "Vectors", "gen_cohort.py")
TARGETS = {"km_r": 5.0, "km_lifelines": 20.0, "cox_r": 2.0}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure_peers():
    r_ok = shutil.which("Rscript") and subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(survival))"], capture_output=True).returncode == 0
    if not r_ok:
        log("installing R survival from Debian (r-base-core, r-cran-survival) ...")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "r-base-core", "r-cran-survival"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if subprocess.run([sys.executable, "-c", "import lifelines"], capture_output=True).returncode != 0:
        log("installing lifelines from PyPI ...")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "lifelines"], check=True)


def build_ossa():
    log("building ossa-bench (release) ...")
    subprocess.run(["swift", "build", "-c", "release", "--package-path", HERE, "--product", "ossa-bench"],
                   check=True, stdout=sys.stderr)
    out = subprocess.run(["swift", "build", "-c", "release", "--package-path", HERE, "--show-bin-path"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "ossa-bench")


def cohort(n):
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"cohort_{n}.csv")
    if not os.path.exists(path):
        log(f"generating cohort n={n} ...")
        subprocess.run([sys.executable, GEN, str(n), path], check=True)
    return path


def run_json(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{p.stderr}")
    log(f"  {os.path.basename(cmd[0]) if cmd[0] != sys.executable else cmd[1]}: {time.perf_counter() - t0:.1f}s")
    return json.loads(p.stdout.strip().splitlines()[-1])


def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    return abs(a - b) <= tol * max(1.0, abs(b))


def compare(ossa, r):
    bad = [k for k in r["results"] if not close(ossa["results"].get(k), r["results"][k])]
    return "equal to R (1e-9)" if not bad else "DIFFERS from R in " + ", ".join(bad)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-lifelines-cox-above", type=int, default=1_000_000,
                    help="skip lifelines' Cox above this size (it takes minutes)")
    a = ap.parse_args()
    ensure_peers()
    ossa_bin = build_ossa()
    rows, verdicts = [], []
    for n in [int(s) for s in a.sizes.split(",")]:
        path = cohort(n)
        log(f"n={n}:")
        o = run_json([ossa_bin, path, str(a.reps)])
        r = run_json(["Rscript", os.path.join(HERE, "peers", "r_survival.R"), path, str(a.reps)])
        lcmd = [sys.executable, os.path.join(HERE, "peers", "lifelines_bench.py"), path, str(a.reps)]
        if n > a.no_lifelines_cox_above:
            lcmd.append("--skip-cox")
        li = run_json(lcmd)
        best = lambda res, k: min(res[k]) if res[k] else None  # noqa: E731
        ok, ork, olc = best(o, "km_logrank_s"), best(r, "km_logrank_s"), best(li, "km_logrank_s")
        oc, orc, olcx = best(o, "cox_s"), best(r, "cox_s"), best(li, "cox_s")
        rows.append((n, o, r, li, ok, ork, olc, oc, orc, olcx))
        verdicts.append((n, compare(o, r)))

    fmt = lambda x: "-" if x is None else f"{x:9.4f}"  # noqa: E731
    ratio = lambda peer, ours: "-" if peer is None or not ours else f"{peer / ours:7.1f}x"  # noqa: E731
    print()
    print(f"tools: {rows[0][1]['tool']} | {rows[0][2]['tool']} | {rows[0][3]['tool']}")
    print("seconds, minimum of %d runs; ratio = peer time / Ossa time (higher is better for Ossa)" % a.reps)
    print()
    hdr = (f"{'n':>9} | {'parse Ossa':>10} {'R':>9} {'lifel.':>9} | {'KM+LR Ossa':>10} {'R':>9} {'lifel.':>9}"
           f" {'vs R':>8} {'vs lif.':>8} | {'Cox Ossa':>9} {'R':>9} {'lifel.':>9} {'vs R':>8} {'vs lif.':>8}")
    print(hdr)
    print("-" * len(hdr))
    for n, o, r, li, ok, ork, olc, oc, orc, olcx in rows:
        print(f"{n:>9} | {fmt(o['parse_s']):>10} {fmt(r['parse_s'])} {fmt(li['parse_s'])} | "
              f"{fmt(ok):>10} {fmt(ork)} {fmt(olc)} {ratio(ork, ok):>8} {ratio(olc, ok):>8} | "
              f"{fmt(oc)} {fmt(orc)} {fmt(olcx)} {ratio(orc, oc):>8} {ratio(olcx, oc):>8}")
    print()
    for n, v in verdicts:
        print(f"n={n}: results {v}")
    big = rows[-1]
    n, _, _, _, ok, ork, olc, oc, orc, _ = big
    print()
    print(f"targets at n={n}:")
    checks = [("KM + log-rank >= 5x faster than R", ork / ok if ok else 0, TARGETS["km_r"]),
              ("KM + log-rank >= 20x faster than lifelines", olc / ok if ok else 0, TARGETS["km_lifelines"]),
              ("Cox >= 2x faster than R", orc / oc if oc else 0, TARGETS["cox_r"])]
    failed = False
    for name, got, want in checks:
        status = "met" if got >= want else "NOT MET"
        failed |= got < want
        print(f"  {name}: {got:.1f}x  {status}")
    equal = all(v.startswith("equal") for _, v in verdicts)
    print(f"  all results equal to R to 1e-9: {'met' if equal else 'NOT MET'}")
    sys.exit(1 if failed or not equal else 0)


if __name__ == "__main__":
    main()
