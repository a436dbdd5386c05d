# Reference values for consilience's quality analyses, from the data sets export_data.py writes
# (the bundled example registry). Run from this folder:
#   python export_data.py && Rscript make_reference.R   (writes reference.json)
suppressMessages({library(metafor); library(jsonlite)})
num <- function(x) as.numeric(x)
fit_out <- function(r) list(k=r$k, estimate=num(r$b[1]), se=num(r$se[1]), ci_lb=num(r$ci.lb[1]),
                            ci_ub=num(r$ci.ub[1]), tau2=num(r$tau2), I2=num(r$I2),
                            pval=num(r$pval[1]), pi_lb=num(predict(r)$pi.lb),
                            pi_ub=num(predict(r)$pi.ub))
dat <- read.csv("studies.csv", stringsAsFactors=FALSE)
dat$log10_n_train <- log10(dat$n_train)
out <- list(metafor_version=as.character(packageVersion("metafor")), k=nrow(dat))

# -- scenarios: meta-regression on model family and log10 training-set size ---------------------
r <- rma(yi, vi, mods = ~ factor(model_family) + log10_n_train, data=dat, method="REML",
         test="knha")
settings <- data.frame(model_family=c("tree", "tree ensemble", "linear", "kernel"),
                       n_train=c(10000, 1000, 1e7, 250), stringsAsFactors=FALSE)
levs <- sort(unique(dat$model_family))
X <- t(sapply(seq_len(nrow(settings)), function(i)
  c(as.numeric(levs[-1] == settings$model_family[i]), log10(settings$n_train[i]))))
p <- predict(r, newmods=X)
out$scenario_family_size <- list(names=rownames(r$b), estimate=num(r$b), tau2=num(r$tau2),
  model_family=settings$model_family, n_train=settings$n_train, pred=num(p$pred), se=num(p$se),
  ci_lb=num(p$ci.lb), ci_ub=num(p$ci.ub), pi_lb=num(p$pi.lb), pi_ub=num(p$pi.ub))
r1 <- rma(yi, vi, mods = ~ factor(model_family), data=dat, method="REML", test="knha")
p1 <- predict(r1, newmods=as.numeric(levs[-1] == "tree"))
out$scenario_family <- list(model_family="tree", pred=num(p1$pred), se=num(p1$se),
  ci_lb=num(p1$ci.lb), ci_ub=num(p1$ci.ub), pi_lb=num(p1$pi.lb), pi_ub=num(p1$pi.ub))

# -- quality-aware synthesis: risk of bias as the tests in tests/quality assign it ---------------
low <- c("ridge-classifier", "random-forest", "extra-trees")
high <- c("gradient-boosting", "svc-rbf")
dat$risk <- ifelse(dat$experiment %in% low, "low",
                   ifelse(dat$experiment %in% high, "high", "unknown"))
out$risk <- list(low=low, high=high)
out$full <- fit_out(rma(yi, vi, data=dat, method="REML", test="knha"))
out$low_only <- fit_out(rma(yi, vi, data=dat, subset=risk == "low", method="REML", test="knha"))
lv <- c("low", "high", "unknown")
fits <- lapply(lv, function(l) rma(yi, vi, data=dat, subset=risk == l, method="REML",
                                   test="knha"))
est <- sapply(fits, function(f) num(f$b)); se <- sapply(fits, function(f) num(f$se))
between <- rma(est, sei=se, mods=~factor(lv), method="FE")
out$subgroups <- list(levels=lv, k=sapply(fits, function(f) f$k), estimate=est, se=se,
  ci_lb=sapply(fits, function(f) num(f$ci.lb)), ci_ub=sapply(fits, function(f) num(f$ci.ub)),
  tau2=sapply(fits, function(f) num(f$tau2)), Q_between=num(between$QM),
  Q_between_df=between$QMdf[1], Q_between_p=num(between$QMp))
mr <- rma(yi, vi, mods = ~ relevel(factor(risk), ref="low"), data=dat, method="REML",
          test="knha")
out$metareg_risk <- list(names=rownames(mr$b), estimate=num(mr$b), QM=num(mr$QM),
  QMdf=num(mr$QMdf), QMp=num(mr$QMp), tau2=num(mr$tau2))
w <- c(low=1, "some concerns"=0.5, high=0.25, unknown=0.5)
out$quality_weights <- as.list(w)
out$weighted <- fit_out(rma(yi, vi / w[dat$risk], data=dat, method="REML", test="knha"))

# -- trade-offs: random-forest's accuracy (MD) and training time (ROM, lower is better) ----------
out$rf_accuracy <- fit_out(rma(yi, vi, data=dat, subset=experiment == "random-forest",
                               method="REML", test="knha"))
tt <- read.csv("rf_train_time.csv", stringsAsFactors=FALSE)
# an arm with one run borrows the other arm's standard deviation (consilience's task_effects)
tt$sd1i <- ifelse(tt$n1i == 1, tt$sd2i, tt$sd1i)
tt$sd2i <- ifelse(tt$n2i == 1, tt$sd1i, tt$sd2i)
es <- escalc("ROM", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=tt)
rt <- rma(-yi, vi, data=es, method="REML", test="knha")  # lower is better: sign flipped
out$rf_train_time <- c(fit_out(rt), list(margin_bound=-log(1.05),
  ratio=exp(-num(rt$b)), ratio_lb=exp(-num(rt$ci.ub)), ratio_ub=exp(-num(rt$ci.lb))))
write(toJSON(out, auto_unbox=TRUE, digits=NA), "reference.json")
cat("wrote reference.json\n")
