# Survival free of joint replacement computed by R on an Ossa SQLite database, the way Ossa's analytics page does
# (README "Registry analytics: the censoring rule"): time zero the first IO procedure; follow-up ends at the earliest
# death, withdrawal or loss to follow-up, else at the later of the last contact date and the latest dated record
# (procedure, questionnaire response, imaging study, outcome event); the first replacement on or before the end
# is the event. Then Kaplan–Meier overall and per joint (log-log CIs), log-rank by joint, Cox on age (Efron), and
# the Aalen–Johansen cumulative incidence with death competing.
# Usage: Rscript r_analytics.R ossa.sqlite out.json   — prints the seconds taken; writes a few results as JSON.
suppressMessages({ library(DBI); library(RSQLite); library(survival) })
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
con <- dbConnect(RSQLite::SQLite(), args[1], flags = RSQLite::SQLITE_RO)
ep <- dbGetQuery(con, "SELECT e.id, e.joint, e.last_contact_date AS contact, p.birth_date AS birth FROM episodes e JOIN patients p ON p.id = e.patient_id")
pr <- dbGetQuery(con, "SELECT episode_id AS id, MIN(CASE WHEN kind = 'io' THEN procedure_date END) AS first_io, MAX(procedure_date) AS last_proc FROM procedures GROUP BY episode_id")
ev <- dbGetQuery(con, "SELECT episode_id AS id, kind, MIN(event_date) AS first, MAX(event_date) AS last FROM outcome_events GROUP BY episode_id, kind")
qr <- dbGetQuery(con, "SELECT episode_id AS id, MAX(completed_at) AS last_q FROM questionnaire_responses GROUP BY episode_id")
im <- dbGetQuery(con, "SELECT episode_id AS id, MAX(study_date) AS last_img FROM imaging_studies GROUP BY episode_id")
dbDisconnect(con)
d <- merge(ep, pr, by = "id")
d <- d[!is.na(d$first_io), ]
pick <- function(kind, what) { x <- ev[ev$kind == kind, c("id", what)]; names(x) <- c("id", kind); x }
for (k in c("death", "withdrawal", "lost-to-follow-up", "joint-replacement")) d <- merge(d, pick(k, "first"), by = "id", all.x = TRUE)
lastev <- aggregate(last ~ id, data = ev, FUN = max)
d <- merge(d, lastev, by = "id", all.x = TRUE)
d <- merge(d, qr, by = "id", all.x = TRUE)
d <- merge(d, im, by = "id", all.x = TRUE)
D <- function(x) as.numeric(as.Date(x))
start <- D(d$first_io)
ending <- pmin(D(d$death), D(d$withdrawal), D(d[["lost-to-follow-up"]]), na.rm = TRUE)
ending[is.infinite(ending)] <- NA
qday <- floor(d$last_q / 86400)
records <- pmax(D(d$contact), D(d$last_proc), D(d$last), qday, D(d$last_img), start, na.rm = TRUE)
end <- ifelse(is.na(ending), records, ending)
end <- pmax(end, start)
repl <- D(d[["joint-replacement"]])
event <- !is.na(repl) & repl <= end
time <- ifelse(event, pmax(repl - start, 0), end - start)
died <- !event & !is.na(d$death) & !is.na(ending) & D(d$death) == ending
status <- ifelse(event, 1, ifelse(died, 2, 0))
birth <- as.Date(d$birth); first <- as.Date(d$first_io)
age <- as.numeric(format(first, "%Y")) - as.numeric(format(birth, "%Y")) -
  (format(first, "%m%d") < format(birth, "%m%d"))
joint <- tools::toTitleCase(d$joint)
overall <- survfit(Surv(time, event) ~ 1, conf.type = "log-log")
byjoint <- survfit(Surv(time, event) ~ joint, conf.type = "log-log")
lr <- survdiff(Surv(time, event) ~ joint)
cx <- coxph(Surv(time, event) ~ age, ties = "efron", control = coxph.control(eps = 1e-14, iter.max = 50))
aj <- survfit(Surv(time, factor(status, 0:2)) ~ 1)
elapsed <- proc.time()[["elapsed"]] - t0
s <- summary(overall, times = c(365, 730, 1825), extend = TRUE)
out <- sprintf('{"seconds": %.6f, "subjects": %d, "events": %d, "survival": [%s], "median": %s, "logRankChiSquare": %.17g, "coxCoefficient": %.17g, "coxStdErr": %.17g, "coxLogLik": %.17g, "cifReplacement2y": %.17g}',
  elapsed, length(time), sum(event), paste(sprintf("%.17g", s$surv), collapse = ", "),
  ifelse(is.na(summary(overall)$table[["median"]]), "null", sprintf("%.17g", summary(overall)$table[["median"]])),
  lr$chisq, coef(cx)[[1]], sqrt(vcov(cx)[1, 1]), cx$loglik[2],
  summary(aj, times = 730)$pstate[1, 2])
writeLines(out, args[2])
cat(sprintf("%.3f\n", elapsed))
