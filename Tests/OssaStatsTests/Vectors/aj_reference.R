# Reference Aalen-Johansen cumulative incidence for AalenJohansenTests.swift.
# Run: Rscript aj_reference.R > aj_reference_r.csv
# Made with R 4.2.2, survival 3.5-3 (multi-state survfit; std.err = infinitesimal jackknife).
suppressMessages(library(survival))
d <- data.frame(
  time   = c(1, 2, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 12, 13),
  status = c(1, 2, 0, 1, 1, 2, 0, 2, 1, 0, 1, 0, 2, 1, 0, 1, 2)
)
f <- survfit(Surv(time, factor(status)) ~ 1, data = d)
out <- data.frame(time = f$time, n_risk = f$n.risk[, 1],
                  n_event_1 = f$n.event[, 2], n_event_2 = f$n.event[, 3], n_censor = f$n.censor,
                  surv = f$pstate[, 1], cif1 = f$pstate[, 2], cif2 = f$pstate[, 3],
                  se_surv = f$std.err[, 1], se_cif1 = f$std.err[, 2], se_cif2 = f$std.err[, 3])
cat(sprintf("# %s, survival %s\n", R.version.string, packageVersion("survival")))
write.csv(format(out, digits = 17), row.names = FALSE, quote = FALSE)
