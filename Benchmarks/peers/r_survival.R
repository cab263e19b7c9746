# Times R `survival` on a cohort CSV: file parsing separately, then KM (overall + per group) with
# log-rank, then Cox (Efron ties, age + bmi). Prints one JSON object on stdout.
# Usage: Rscript r_survival.R COHORT.csv REPS
args <- commandArgs(trailingOnly = TRUE)
path <- args[1]
reps <- as.integer(args[2])
suppressMessages(library(survival))

elapsed <- function() proc.time()[["elapsed"]]

t0 <- elapsed()
d <- read.csv(path, colClasses = c("integer", "numeric", "integer", "character", "numeric", "numeric"))
parse_s <- elapsed() - t0

km_times <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- elapsed()
  fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")
  fitg <- survfit(Surv(time, event) ~ group, data = d, conf.type = "log-log")
  lr <- survdiff(Surv(time, event) ~ group, data = d)
  km_times[i] <- elapsed() - t0
}

# R warns that eps below its Cholesky tolerance is unusual; the vectors were made with eps 1e-14.
ctrl <- suppressWarnings(coxph.control(eps = 1e-14, iter.max = 50))
cox_times <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- elapsed()
  cx <- coxph(Surv(time, event) ~ age + bmi, data = d, ties = "efron", control = ctrl)
  cox_times[i] <- elapsed() - t0
}

s <- summary(fit, times = c(365, 730, 1825), extend = TRUE)
med <- unname(summary(fit)$table[["median"]])
num <- function(x) if (is.na(x)) "null" else sprintf("%.17g", x)
vec <- function(x) paste0("[", paste(vapply(x, num, ""), collapse = ","), "]")
cat(sprintf(paste0('{"tool":"R %s survival %s","parse_s":%s,"km_logrank_s":%s,"cox_s":%s,',
                   '"results":{"survival_at":%s,"median":%s,"logrank_chisq":%s,',
                   '"cox_coef":%s,"cox_se":%s,"cox_loglik":%s}}\n'),
            paste(R.version$major, R.version$minor, sep = "."), packageVersion("survival"),
            num(parse_s), vec(km_times), vec(cox_times),
            vec(s$surv), num(med), num(lr$chisq),
            vec(unname(coef(cx))), vec(unname(sqrt(diag(vcov(cx))))), num(cx$loglik[2])))
