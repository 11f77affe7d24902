# Reference values for tests/frequentist/test_estimators.py and tests/frequentist/test_reduce.py.
#
# Run from this directory:   Rscript make_reference.R
# Needs: R >= 4.2 with the packages survival, KMsurv and MASS
#        (Debian: apt-get install r-base-core r-cran-survival r-cran-kmsurv).
#
# Writes the input data (so that the Python tests run without R) and the reference values
# computed by survival::survfit, survival::survdiff and KMsurv::lifetab. Every file written
# here is listed in README.md with the call that produced it.

suppressPackageStartupMessages({
  library(survival)
  library(KMsurv)
  library(MASS)
})

out <- "."
wcsv <- function(x, name) {
  write.csv(x, file.path(out, name), row.names = FALSE, na = "NA")
}
num <- function(x) signif(x, 15)

cat(R.version.string, "\n")
cat("survival", format(packageVersion("survival")), "\n")
cat("KMsurv", format(packageVersion("KMsurv")), "\n")
cat("MASS", format(packageVersion("MASS")), "\n")
versions <- data.frame(
  item = c("R", "survival", "KMsurv", "MASS", "date"),
  value = c(R.version.string, format(packageVersion("survival")),
            format(packageVersion("KMsurv")), format(packageVersion("MASS")),
            format(Sys.Date()))
)
wcsv(versions, "versions.csv")

# ---------------------------------------------------------------- input data -----------
# Freireich et al. (1963) 6-MP vs placebo remission times in weeks (MASS::gehan; the same
# 42 patients as lifelines.datasets.load_leukemia).
gehan <- MASS::gehan
gehan$treat <- as.character(gehan$treat)
wcsv(gehan[, c("pair", "time", "cens", "treat")], "gehan.csv")

# Veterans' Administration lung cancer trial (survival::veteran), 4 cell types.
vet <- survival::veteran
vet$celltype <- as.character(vet$celltype)
wcsv(vet[, c("trt", "celltype", "time", "status")], "veteran.csv")

# NCCTG lung cancer (survival::lung), status 1 = censored, 2 = dead; ph.ecog has one NA.
lung <- survival::lung
wcsv(lung[, c("time", "status", "ph.ecog", "sex")], "lung.csv")

# Breast-feeding durations in weeks (KMsurv::bfeed, Klein & Moeschberger section 1.14).
data(bfeed, package = "KMsurv")
wcsv(bfeed[, c("duration", "delta")], "bfeed.csv")

# Tiny constructed cohorts exercising the median conventions of quantile.survfit:
# a: S hits exactly 0.5 on a flat stretch that ends at a later death;
# b: S = 0.5 flat until the last (censored) time;  c: flat 0.5 ended by the last death;
# d: median not reached;  e: ties at the first time bring S to exactly 0.5.
cases <- rbind(
  data.frame(case = "a", time = c(1, 2, 3, 4), status = c(1, 1, 1, 1)),
  data.frame(case = "b", time = c(1, 2, 3, 4), status = c(1, 1, 0, 0)),
  data.frame(case = "c", time = c(1, 2, 3, 5), status = c(1, 1, 0, 1)),
  data.frame(case = "d", time = c(1, 2, 3), status = c(1, 0, 0)),
  data.frame(case = "e", time = c(1, 1, 1, 2, 3, 4), status = c(1, 1, 1, 1, 0, 1))
)
wcsv(cases, "median_cases.csv")

# ---------------------------------------------------------------- Kaplan-Meier ---------
km_rows <- function(formula, data, dataset) {
  res <- NULL
  for (ct in c("log", "log-log")) {
    fit <- survfit(formula, data = data, conf.type = ct)
    s <- summary(fit, censored = TRUE)
    strata <- if (is.null(s$strata)) rep("all", length(s$time)) else
      sub("^[^=]*=", "", as.character(s$strata))
    block <- data.frame(dataset = dataset, group = strata, time = s$time,
                        n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
                        surv = num(s$surv), std_err = num(s$std.err),
                        se_cumhaz = num(fit$std.err),
                        lower = num(s$lower), upper = num(s$upper))
    names(block)[names(block) == "lower"] <- paste0("lower_", gsub("-", "", ct))
    names(block)[names(block) == "upper"] <- paste0("upper_", gsub("-", "", ct))
    res <- if (is.null(res)) block else cbind(res, block[, ncol(block) - 1:0])
  }
  res
}
wcsv(km_rows(Surv(time, cens) ~ treat, gehan, "gehan"), "ref_km_gehan.csv")
wcsv(km_rows(Surv(time, status) ~ celltype, vet, "veteran"), "ref_km_veteran.csv")

median_rows <- function(formula, data, dataset) {
  res <- NULL
  for (ct in c("log", "log-log")) {
    fit <- survfit(formula, data = data, conf.type = ct)
    q <- quantile(fit, probs = 0.5)
    grp <- if (is.null(fit$strata)) "all" else sub("^[^=]*=", "", names(fit$strata))
    res <- rbind(res, data.frame(dataset = dataset, group = grp, conf_type = ct,
                                 median = num(as.vector(q$quantile)),
                                 lower = num(as.vector(q$lower)),
                                 upper = num(as.vector(q$upper))))
  }
  res
}
med <- rbind(
  median_rows(Surv(time, cens) ~ treat, gehan, "gehan"),
  median_rows(Surv(time, status) ~ celltype, vet, "veteran"),
  median_rows(Surv(time, status) ~ case, cases, "cases")
)
wcsv(med, "ref_km_median.csv")

# landmark survival, as summary(fit, times = ..., extend = TRUE) prints it
fit <- survfit(Surv(time, cens) ~ treat, data = gehan)
lt <- c(0, 0.5, 5, 6, 10, 12.5, 22, 23, 30, 35, 40)
s <- summary(fit, times = lt, extend = TRUE)
wcsv(data.frame(group = sub("^[^=]*=", "", as.character(s$strata)), time = s$time,
                surv = num(s$surv)), "ref_km_landmark_gehan.csv")

# ---------------------------------------------------------------- log-rank -------------
logrank_rows <- function(formula, data, dataset) {
  sd <- survdiff(formula, data = data)
  grp <- sub("^[^=]*=", "", names(sd$n))
  df <- sum(sd$exp > 0) - 1
  data.frame(dataset = dataset, group = grp, n = as.vector(sd$n),
             observed = as.vector(sd$obs), expected = num(as.vector(sd$exp)),
             var_diag = num(diag(sd$var)), chisq = num(sd$chisq), df = df,
             p = num(pchisq(sd$chisq, df, lower.tail = FALSE)))
}
lr <- rbind(
  logrank_rows(Surv(time, cens) ~ treat, gehan, "gehan"),
  logrank_rows(Surv(time, status) ~ celltype, vet, "veteran"),
  logrank_rows(Surv(time, status) ~ ph.ecog, lung, "lung")
)
wcsv(lr, "ref_logrank.csv")

# ---------------------------------------------------------------- life table -----------
# (1) KMsurv::lifetab on bfeed grouped into K&M's intervals; an event exactly at a
#     boundary belongs to the interval that starts there (findInterval is left-closed);
#     the last interval [53, Inf) is open.
tis <- c(0, 2, 3, 5, 7, 11, 17, 25, 37, 53, NA)
j <- findInterval(bfeed$duration, tis[-length(tis)])
k <- length(tis) - 1
nevent <- tabulate(j[bfeed$delta == 1], nbins = k)
nlost <- tabulate(j[bfeed$delta == 0], nbins = k)
lt1 <- lifetab(tis, nrow(bfeed), nlost, nevent)
wcsv(data.frame(start = tis[-length(tis)], end = c(tis[-c(1, length(tis))], Inf),
                nsubs = lt1$nsubs, nlost = lt1$nlost, nrisk = lt1$nrisk,
                nevent = lt1$nevent, surv = num(lt1$surv), se_surv = num(lt1$se.surv)),
     "ref_lifetab_bfeed.csv")

# (2) the grouped example of help(lifetab), as printed there
tis <- c(0, 2, 3, 5, 7, 11, 17, 25, 37, 53, NA)
ninit <- 927
nlost <- c(2, 3, 6, 22, 21, 79, 68, 43, 8, 3)
nevent <- c(39, 22, 23, 24, 21, 14, 26, 21, 10, 0)
lt2 <- lifetab(tis, ninit, nlost, nevent)
wcsv(data.frame(start = tis[-length(tis)], end = c(tis[-c(1, length(tis))], Inf),
                nsubs = lt2$nsubs, nlost = lt2$nlost, nrisk = lt2$nrisk,
                nevent = lt2$nevent, surv = num(lt2$surv), se_surv = num(lt2$se.surv)),
     "ref_lifetab_example.csv")

# (3) life table of the gehan data in 5-week intervals, per arm (the control arm empties
#     before the last intervals: lifetab gives NaN there)
for (g in c("6-MP", "control")) {
  d <- gehan[gehan$treat == g, ]
  tis <- seq(0, 40, by = 5)
  j <- findInterval(d$time, tis)
  k <- length(tis) - 1
  lt3 <- lifetab(tis, nrow(d), tabulate(j[d$cens == 0], k), tabulate(j[d$cens == 1], k))
  block <- data.frame(group = g, start = tis[-length(tis)], end = tis[-1],
                      nsubs = lt3$nsubs, nlost = lt3$nlost, nrisk = lt3$nrisk,
                      nevent = lt3$nevent, surv = num(lt3$surv),
                      se_surv = num(lt3$se.surv))
  if (g == "6-MP") lt3all <- block else lt3all <- rbind(lt3all, block)
}
wcsv(lt3all, "ref_lifetab_gehan.csv")
