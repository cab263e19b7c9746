# R's answer to GET /api/v1/analytics/survival?joint=knee&group=product&covariate=age&covariate=bmi on the demo
# registry of AnalyticsAPITests.swift (seed 2026, 400 patients, start 2021-06-01), read from the analysed rows the
# test exports (knee_by_product.csv: one row per treated knee episode; time in days from the first IO procedure,
# event 1 = joint replacement, status 0 censored / 1 replacement / 2 death, group = product label, age, bmi).
#
# Run from anywhere:  Rscript Tests/OssaWebTests/Vectors/analytics/knee_by_product.R
# Writes knee_by_product_r.json beside this script, in the shape of the API's answer (the `ossa stats survival`
# contract plus cumulativeIncidence) under "survival". jsonlite is not needed: the JSON is written by hand, every
# number with sprintf("%.17g") (round-trips a double), NA/NaN/Inf as null.
#
# What each number is (so that it is R's own, not a re-derivation of Ossa's):
#   kaplanMeier  survfit(Surv(time, event) ~ 1 | ~ group, conf.type = "log-log"), every row of the fit (censoring-only
#                times included, as summary(fit, censored = TRUE)); stdErr = surv * std.err (survfit's std.err is the
#                SE of the cumulative hazard, i.e. of log S); median = summary(fit)$table[, "median"].
#   logRank      survdiff(Surv(time, event) ~ group); df = groups with expected > 0, minus 1 (print.survdiff);
#                p = pchisq(chisq, df, lower.tail = FALSE).
#   cox          coxph(Surv(time, event) ~ age + bmi, ties = "efron", eps 1e-14, toler.chol 1e-15) on complete
#                cases; stdErr = sqrt(diag(var)); p = 2 pnorm(-|z|) (Wald); logLikelihood = loglik[2] (at the estimate).
#   cumulativeIncidence  survfit(Surv(time, factor(status, 0:2)) ~ 1) (multi-state Aalen-Johansen): n.risk of the
#                event-free state, n.event into states 1 and 2, pstate and std.err (infinitesimal jackknife) of 1 and 2.
suppressMessages(library(survival))

file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
here <- if (length(file_arg) == 1) dirname(normalizePath(sub("^--file=", "", file_arg))) else getwd()
d <- read.csv(file.path(here, "knee_by_product.csv"), stringsAsFactors = FALSE, na.strings = "NA")
stopifnot(all(d$event %in% 0:1), all(d$status %in% 0:2), all((d$status == 1) == (d$event == 1)))

num <- function(x) {
  x <- unname(x)
  if (length(x) != 1 || is.na(x) || !is.finite(x)) "null" else sprintf("%.17g", x)
}
int <- function(x) sprintf("%d", as.integer(round(unname(x))))
str <- function(x) if (is.null(x) || is.na(x)) "null" else paste0("\"", gsub("\"", "\\\\\"", x), "\"")
obj <- function(...) {
  kv <- list(...)
  paste0("{", paste0("\"", names(kv), "\": ", unlist(kv), collapse = ", "), "}")
}
arr <- function(items, sep = ",\n") paste0("[", paste(items, collapse = sep), "]")

curve <- function(group, fit, median) {
  steps <- vapply(seq_along(fit$time), function(i) {
    obj(time = num(fit$time[i]), atRisk = int(fit$n.risk[i]), events = int(fit$n.event[i]),
        survival = num(fit$surv[i]), stdErr = num(fit$surv[i] * fit$std.err[i]),
        lower = num(fit$lower[i]), upper = num(fit$upper[i]))
  }, "")
  paste0("{\"group\": ", str(group), ", \"median\": ", num(median), ", \"steps\": ", arr(steps), "}")
}

# Groups in code-point order of their labels (method = "radix" sorts in the C locale, as Swift compares strings).
labels <- sort(unique(d$group), method = "radix")
d$g <- factor(d$group, levels = labels)

overall <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")
curves <- curve(NULL, overall, summary(overall)$table["median"])
by_group <- survfit(Surv(time, event) ~ g, data = d, conf.type = "log-log")
group_table <- summary(by_group)$table
for (k in seq_along(labels)) {
  curves <- c(curves, curve(labels[k], by_group[k], group_table[k, "median"]))
}

lr <- survdiff(Surv(time, event) ~ g, data = d)
lr_df <- sum(lr$exp > 0) - 1
log_rank <- obj(chiSquare = num(lr$chisq), degreesOfFreedom = int(lr_df),
                pValue = num(pchisq(lr$chisq, lr_df, lower.tail = FALSE)))

complete <- d[!is.na(d$age) & !is.na(d$bmi), ]
cx <- coxph(Surv(time, event) ~ age + bmi, data = complete, ties = "efron",
            control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100))
beta <- coef(cx)
se <- sqrt(diag(cx$var))
terms <- vapply(seq_along(beta), function(j) {
  obj(name = str(names(beta)[j]), coefficient = num(beta[j]), stdErr = num(se[j]), hazardRatio = num(exp(beta[j])),
      pValue = num(2 * pnorm(-abs(beta[j] / se[j]))))
}, "")
cox <- paste0("{\"terms\": ", arr(terms, ", "), ", \"logLikelihood\": ", num(cx$loglik[2]), "}")

aj <- survfit(Surv(time, factor(status, 0:2)) ~ 1, data = d)
s0 <- match("(s0)", aj$states)
s1 <- match("1", aj$states)
s2 <- match("2", aj$states)
stopifnot(!is.na(s0), !is.na(s1), !is.na(s2))
ci_steps <- vapply(seq_along(aj$time), function(i) {
  obj(time = num(aj$time[i]), atRisk = int(aj$n.risk[i, s0]),
      replacements = int(aj$n.event[i, s1]), deaths = int(aj$n.event[i, s2]),
      replacement = num(aj$pstate[i, s1]), replacementStdErr = num(aj$std.err[i, s1]),
      death = num(aj$pstate[i, s2]), deathStdErr = num(aj$std.err[i, s2]))
}, "")
causes <- "[{\"code\": 1, \"name\": \"joint-replacement\"}, {\"code\": 2, \"name\": \"death\"}]"
cumulative <- paste0("{\"causes\": ", causes, ", \"steps\": ", arr(ci_steps), "}")

out <- paste0(
  "{\"generatedBy\": ", str(sprintf("%s, survival %s", R.version.string, packageVersion("survival"))), ",\n",
  "\"rows\": ", int(nrow(d)), ", \"events\": ", int(sum(d$event)), ", \"deaths\": ", int(sum(d$status == 2)),
  ", \"coxSubjects\": ", int(nrow(complete)), ",\n",
  "\"survival\": {\"kaplanMeier\": ", arr(curves), ",\n",
  "\"logRank\": ", log_rank, ",\n",
  "\"cox\": ", cox, ",\n",
  "\"cumulativeIncidence\": ", cumulative, "}}\n")
writeLines(out, file.path(here, "knee_by_product_r.json"), sep = "")
cat(sprintf("wrote %s (%d rows, %d events, %d deaths)\n", file.path(here, "knee_by_product_r.json"),
            nrow(d), sum(d$event), sum(d$status == 2)))
