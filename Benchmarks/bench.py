"""Survival benchmark driver: Ossa vs R `survival` vs lifelines, measured in the same run.

Every tool reads the same CSV (parse time reported separately), keeps the data in memory and is
timed on (1) Kaplan-Meier overall and per group plus the 3-group log-rank test and (2) Cox
proportional hazards with Efron ties on age + bmi. Times are the minimum over --reps repetitions.
Results are checked against R to 1e-9 (relative for large values).

Then CSV reading on its own, at the largest size: Ossa's parser (file read + parse into columns),
the previous parser, data.table::fread and polars.read_csv, side by side (--parse-reps runs each).
--parse-only runs just that part.
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


def ensure_parse_peers():
    """data.table from Debian (r-cran-data.table); polars from PyPI. Returns whether polars is there."""
    dt = ["Rscript", "-e", "suppressMessages(library(data.table))"]
    if not shutil.which("Rscript") or subprocess.run(dt, capture_output=True).returncode != 0:
        log("installing R data.table from Debian (r-base-core, r-cran-data.table) ...")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "r-base-core", "r-cran-data.table"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    has_polars = lambda: subprocess.run([sys.executable, "-c", "import polars"],  # noqa: E731
                                        capture_output=True).returncode == 0
    if not has_polars():
        log("installing polars from PyPI ...")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "polars"])
        if not has_polars():
            log("polars could not be installed: it is left out of the parse comparison")
            return False
    return True


def build_ossa_cli():
    """The whole `ossa` executable in release mode, in its own build folder (as server_bench.py)."""
    scratch = os.path.join(ROOT, ".build-release")
    log("building ossa (release) ...")
    subprocess.run(["swift", "build", "-c", "release", "--package-path", ROOT, "--scratch-path", scratch,
                    "--product", "ossa"], check=True, stdout=sys.stderr)
    out = subprocess.run(["swift", "build", "-c", "release", "--package-path", ROOT, "--scratch-path", scratch,
                          "--show-bin-path"], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "ossa")


def sums_agree(a, b):
    """Column sums of two reads of the same file: integers exactly, bmi to 1e-12 (summation order)."""
    return (a["time"] == b["time"] and a["event"] == b["event"] and a["age"] == b["age"]
            and abs(a["bmi"] - b["bmi"]) <= 1e-12 * abs(b["bmi"]) and a["groups"] == b["groups"])


def parse_comparison(n, path, reps, ossa_bin, polars, ossa_cli):
    """Reading the cohort CSV into columns: Ossa vs its previous parser vs fread vs polars.
    Returns whether Ossa is faster than fread's fastest configuration."""
    log(f"CSV parse, n={n}:")
    # Ossa twice, before and after the peers, so that a busy spell on the machine does not fall on it alone.
    o1 = run_json([ossa_bin, "--parse", path, str(reps)])
    fr = run_json(["Rscript", os.path.join(HERE, "peers", "fread_bench.R"), path, str(reps)])
    pl = run_json([sys.executable, os.path.join(HERE, "peers", "polars_bench.py"), path, str(reps)]) if polars else None
    o2 = run_json([ossa_bin, "--parse", path, str(reps)])
    ossa = min(o1["parse_s"] + o2["parse_s"])
    old = min(o1["parse_old_s"] + o2["parse_old_s"])
    read = min(o1["read_s"] + o2["read_s"])
    size = os.path.getsize(path) / 1e6
    print()
    print(f"CSV parse: the {n}-row cohort ({size:.1f} MB, 6 columns), file read + parse into columns;")
    print(f"seconds, minimum of {2 * reps} runs (two interleaved rounds of {reps}); ratio = time / Ossa time")
    print()
    rows = [(f"Ossa SurvivalCSV.parse(data:), up to {o1['cores']} cores (time, event, group, age, bmi)", ossa),
            ("Ossa, previous parser (String + one pass, 1 core)", old)]
    for c in fr["configs"]:
        rows.append((f"{fr['tool']}, {c['name']}", min(c["times"])))
    if pl:
        for c in pl["configs"]:
            rows.append((f"{pl['tool']}, {c['name']}", min(c["times"])))
    width = max(len(r[0]) for r in rows)
    for name, t in rows:
        print(f"  {name:<{width}}  {t:8.4f}  {t / ossa:6.2f}x")
    print(f"  {'(of which reading the file into memory, Ossa)':<{width}}  {read:8.4f}")
    if ossa_cli:
        cmd = [ossa_cli, "stats", "survival", "--input", path, "--time", "time", "--event", "event",
               "--group", "group", "--covariate", "age", "--covariate", "bmi"]
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            times.append(time.perf_counter() - t0)
            if p.returncode != 0:
                raise SystemExit(f"ossa stats survival failed:\n{p.stderr}")
        print(f"  {'ossa stats survival end to end (release; KM, log-rank, Cox, JSON)':<{width}}  {min(times):8.4f}")
    print()
    fread_best = min(min(c["times"]) for c in fr["configs"])
    agree = sums_agree(o1["sums"], fr["sums"]) and (not pl or sums_agree(o1["sums"], pl["sums"]))
    print(f"parsed columns: Ossa bit-identical to the previous parser: {'yes' if o1['identical_to_old'] else 'NO'}; "
          f"column sums equal to fread's{' and polars' if pl else ''}: {'yes' if agree else 'NO'}")
    if not pl:
        print("polars: not installed (pip install polars failed), left out")
    met = ossa < fread_best and o1["identical_to_old"] and agree
    print(f"target: parse faster than fread (fastest configuration, {fread_best:.4f} s): "
          f"{fread_best / ossa:.2f}x  {'met' if met else 'NOT MET'}")
    return met


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
    ap.add_argument("--parse-reps", type=int, default=10, help="runs of each tool in each round of the parse comparison")
    ap.add_argument("--parse-only", action="store_true", help="only the CSV parse comparison (at the largest size)")
    ap.add_argument("--e2e", action="store_true", help="also build ossa (release) and time `ossa stats survival`")
    ap.add_argument("--ossa", help="an ossa executable built already, for the end-to-end time")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    if a.parse_only:
        polars = ensure_parse_peers()
        ossa_bin = build_ossa()
        ossa_cli = a.ossa or (build_ossa_cli() if a.e2e else None)
        n = max(sizes)
        sys.exit(0 if parse_comparison(n, cohort(n), a.parse_reps, ossa_bin, polars, ossa_cli) else 1)
    ensure_peers()
    polars = ensure_parse_peers()
    ossa_bin = build_ossa()
    ossa_cli = a.ossa or (build_ossa_cli() if a.e2e else None)
    rows, verdicts = [], []
    for n in sizes:
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
    parse_met = parse_comparison(n, cohort(n), a.parse_reps, ossa_bin, polars, ossa_cli)
    sys.exit(1 if failed or not equal or not parse_met else 0)


if __name__ == "__main__":
    main()
