#!/usr/bin/env python3
"""Chi-square upper tails Q(df/2, x/2) to 40 digits with mpmath (independent of R and of
Ossa). Used by DistributionTests.chiSquareHighPrecision.
Run: python3 chisq_upper_mpmath.py > chisq_upper_mpmath.csv"""
import mpmath as m

m.mp.dps = 40
print(f"# mpmath {m.__version__}, 40 significant digits")
print("df,x,upper")
for df in range(1, 51):
    for x in [1e-6, 0.01, 1.0, df / 2, float(df), 2.0 * df + 10, 100.0, 300.0, 700.0, 1000.0, 1400.0]:
        q = m.gammainc(m.mpf(df) / 2, m.mpf(x) / 2, m.inf, regularized=True)
        print(f"{df},{x!r},{m.nstr(q, 25, min_fixed=1, max_fixed=0)}")
