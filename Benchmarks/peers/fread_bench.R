# Times data.table::fread on a cohort CSV: at its default thread count and on every core, reading
# every column and reading only the five the survival analysis uses (time, event, group, age, bmi,
# as Ossa materialises them). Prints one JSON object with the times and the columns' sums.
# Usage: Rscript fread_bench.R COHORT.csv REPS
args <- commandArgs(trailingOnly = TRUE)
path <- args[1]
reps <- as.integer(args[2])
suppressMessages(library(data.table))

now <- function() as.numeric(Sys.time())
default_threads <- getDTthreads()
all_threads <- max(default_threads, parallel::detectCores())
used <- c("time", "event", "group", "age", "bmi")

time_fread <- function(threads, select) {
  times <- numeric(reps)
  for (i in seq_len(reps)) {
    t0 <- now()
    d <- if (is.null(select)) fread(path, nThread = threads, showProgress = FALSE)
         else fread(path, nThread = threads, select = select, showProgress = FALSE)
    times[i] <- now() - t0
  }
  list(times = times, d = d)
}

configs <- list(
  list(name = sprintf("all columns, %d thread(s) (default)", default_threads), threads = default_threads, select = NULL),
  list(name = sprintf("all columns, %d threads", all_threads), threads = all_threads, select = NULL),
  list(name = sprintf("5 columns, %d thread(s) (default)", default_threads), threads = default_threads, select = used),
  list(name = sprintf("5 columns, %d threads", all_threads), threads = all_threads, select = used))
# Interleave the configurations so that a busy moment on the machine does not fall on one of them.
results <- lapply(configs, function(c) numeric(0))
for (round in 1:2) {
  for (k in seq_along(configs)) {
    r <- time_fread(configs[[k]]$threads, configs[[k]]$select)
    results[[k]] <- c(results[[k]], r$times)
    d <- r$d
  }
}

num <- function(x) sprintf("%.17g", x)
vec <- function(x) paste0("[", paste(vapply(x, num, ""), collapse = ","), "]")
groups <- table(d$group)
cat(sprintf(paste0('{"tool":"data.table %s fread","configs":[%s],',
                   '"rows":%d,"sums":{"time":%s,"event":%d,"age":%s,"bmi":%s,"groups":{%s}}}\n'),
            packageVersion("data.table"),
            paste(vapply(seq_along(configs), function(k)
              sprintf('{"name":"%s","threads":%d,"times":%s}', configs[[k]]$name, configs[[k]]$threads,
                      vec(results[[k]])), ""), collapse = ","),
            nrow(d), num(sum(as.numeric(d$time))), sum(d$event), num(sum(as.numeric(d$age))), num(sum(d$bmi)),
            paste(sprintf('"%s":%d', names(groups), as.integer(groups)), collapse = ",")))
