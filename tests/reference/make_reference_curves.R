# Full-data reference values for the validation of Kaplan-Meier curve reconstruction
# (tests/reconstruct/test_validation.py). Run from this directory:
#   Rscript make_reference_curves.R
# Writes ref_reconstruct_full.csv: per data set the Cox hazard ratio of the second arm relative
# to the first (Efron ties, R's default) with its 95% CI, and each arm's KM median.
library(survival)
sets <- list(
  leukemia = within(read.csv("gehan.csv"), {event <- cens; arm <- ifelse(treat == "6-MP", "treated", "control")}),
  veteran = within(read.csv("veteran.csv"), {event <- status; arm <- ifelse(trt == 1, "standard", "test")}),
  lung = within(read.csv("lung.csv"), {event <- as.integer(status == 2); arm <- ifelse(sex == 1, "male", "female")}),
  gbsg2 = within(read.csv("gbsg2.csv"), {event <- cens; arm <- ifelse(horTh == "yes", "tamoxifen", "none")})
)
reference <- c(leukemia = "control", veteran = "standard", lung = "male", gbsg2 = "none")
rows <- list()
for (name in names(sets)) {
  d <- sets[[name]]
  d$arm <- relevel(factor(d$arm), ref = reference[[name]])
  fit <- coxph(Surv(time, event) ~ arm, data = d)
  ci <- exp(confint(fit))
  med <- quantile(survfit(Surv(time, event) ~ arm, data = d), probs = 0.5, conf.int = FALSE)
  lv <- levels(d$arm)
  rows[[name]] <- data.frame(dataset = name, reference_arm = lv[1], other_arm = lv[2],
    hr = signif(exp(coef(fit)), 15), hr_lower = signif(ci[1], 15), hr_upper = signif(ci[2], 15),
    median_reference = as.numeric(med[1]), median_other = as.numeric(med[2]))
}
write.csv(do.call(rbind, rows), "ref_reconstruct_full.csv", row.names = FALSE)
cat(R.version.string, "survival", as.character(packageVersion("survival")), format(Sys.Date()), "\n")
