"""Times polars.read_csv on a cohort CSV (every column, and only the five the survival analysis uses),
on polars' own thread pool (every core). Prints one JSON object with the times and the columns' sums.

Usage: python3 polars_bench.py COHORT.csv REPS
"""
import json
import sys
import time

import polars as pl


def main():
    path, reps = sys.argv[1], int(sys.argv[2])
    used = ["time", "event", "group", "age", "bmi"]
    configs = [("all columns", None), ("5 columns", used)]
    times = {name: [] for name, _ in configs}
    d = None
    for _ in range(2):  # interleaved rounds, as the R peer
        for name, columns in configs:
            for _ in range(reps):
                t0 = time.perf_counter()
                d = pl.read_csv(path, columns=columns)
                times[name].append(time.perf_counter() - t0)
    groups = {k: int(v) for k, v in zip(*d["group"].value_counts(sort=True).to_dict(as_series=False).values())}
    print(json.dumps({
        "tool": f"polars {pl.__version__} read_csv",
        "configs": [{"name": f"{name}, {pl.thread_pool_size()} threads", "threads": pl.thread_pool_size(),
                     "times": times[name]} for name, _ in configs],
        "rows": d.height,
        "sums": {"time": float(d["time"].cast(pl.Float64).sum()), "event": int(d["event"].sum()),
                 "age": float(d["age"].cast(pl.Float64).sum()), "bmi": float(d["bmi"].sum()), "groups": groups},
    }))


if __name__ == "__main__":
    main()
