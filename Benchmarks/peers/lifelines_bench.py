"""Times lifelines on a cohort CSV: parsing separately, then KM (overall + per group) with the
multivariate log-rank test, then Cox (Efron, age + bmi). Prints one JSON object on stdout.

Usage: python3 lifelines_bench.py COHORT.csv REPS [--skip-cox]
"""
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import lifelines  # noqa: E402
import pandas as pd  # noqa: E402
from lifelines import CoxPHFitter, KaplanMeierFitter  # noqa: E402
from lifelines.statistics import multivariate_logrank_test  # noqa: E402


def main():
    path, reps = sys.argv[1], int(sys.argv[2])
    skip_cox = "--skip-cox" in sys.argv
    t0 = time.perf_counter()
    d = pd.read_csv(path, dtype={"group": str})
    parse_s = time.perf_counter() - t0

    km_times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        km = KaplanMeierFitter().fit(d["time"], d["event"])
        for _, sub in d.groupby("group"):
            KaplanMeierFitter().fit(sub["time"], sub["event"])
        lr = multivariate_logrank_test(d["time"], d["group"], d["event"])
        km_times.append(time.perf_counter() - t0)

    cox_times, coef, se, loglik = [], None, None, None
    if not skip_cox:
        for _ in range(reps):
            t0 = time.perf_counter()
            cph = CoxPHFitter().fit(d[["time", "event", "age", "bmi"]], "time", "event")
            cox_times.append(time.perf_counter() - t0)
        coef = [float(cph.params_["age"]), float(cph.params_["bmi"])]
        se = [float(cph.standard_errors_["age"]), float(cph.standard_errors_["bmi"])]
        loglik = float(cph.log_likelihood_)

    surv = [float(km.survival_function_at_times(t).iloc[0]) for t in (365, 730, 1825)]
    median = km.median_survival_time_
    median = None if median == float("inf") else float(median)
    print(json.dumps({
        "tool": f"lifelines {lifelines.__version__}",
        "parse_s": parse_s, "km_logrank_s": km_times, "cox_s": cox_times,
        "results": {"survival_at": surv, "median": median, "logrank_chisq": float(lr.test_statistic),
                    "cox_coef": coef, "cox_se": se, "cox_loglik": loglik},
    }))


if __name__ == "__main__":
    main()
