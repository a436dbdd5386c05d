# Reference values for consilience beyond the shared oracle: categorical moderators, predict()
# with new moderator values, and subgroup analyses. Run from this folder:
#   Rscript make_reference.R   (writes extra.json)
suppressMessages({library(metafor); library(jsonlite)})
num <- function(x) as.numeric(x)
dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
out <- list(metafor_version=as.character(packageVersion("metafor")),
            input=list(yi=num(dat$yi), vi=num(dat$vi), ablat=num(dat$ablat), year=num(dat$year),
                       alloc=as.character(dat$alloc)))
# categorical moderator (treatment coding, reference = first sorted level), both tests
for (t in c("z", "knha")) {
  r <- rma(yi, vi, mods = ~ factor(alloc) + ablat, data=dat, method="REML", test=t)
  out[[paste0("metareg_alloc_", t)]] <- list(names=rownames(r$b), estimate=num(r$b), se=num(r$se),
    stat=num(r$zval), pval=num(r$pval), ci_lb=num(r$ci.lb), ci_ub=num(r$ci.ub), tau2=num(r$tau2),
    QM=num(r$QM), QMp=num(r$QMp), QE=num(r$QE), R2=num(r$R2))
  newm <- cbind(c(0, 1, 0), c(0, 0, 1), c(20, 35, 50))
  p <- predict(r, newmods=newm)
  out[[paste0("predict_alloc_", t)]] <- list(alloc=c("alternate", "random", "systematic"), ablat=c(20, 35, 50),
    pred=num(p$pred), se=num(p$se), ci_lb=num(p$ci.lb), ci_ub=num(p$ci.ub), pi_lb=num(p$pi.lb), pi_ub=num(p$pi.ub))
}
# subgroup analysis: separate REML fits per level, then the Wald-type test of differences
levs <- sort(unique(as.character(dat$alloc)))
fits <- lapply(levs, function(l) rma(yi, vi, data=dat, subset=alloc==l, method="REML"))
est <- sapply(fits, function(f) num(f$b)); se <- sapply(fits, function(f) num(f$se))
between <- rma(est, sei=se, mods=~factor(levs), method="FE")
out$subgroups_REML <- list(levels=levs, k=sapply(fits, function(f) f$k), estimate=est, se=se,
  ci_lb=sapply(fits, function(f) num(f$ci.lb)), ci_ub=sapply(fits, function(f) num(f$ci.ub)),
  tau2=sapply(fits, function(f) num(f$tau2)), I2=sapply(fits, function(f) num(f$I2)),
  QE=sapply(fits, function(f) num(f$QE)), Q_between=num(between$QM), Q_between_df=between$QMdf[1],
  Q_between_p=num(between$QMp))
# percent weights of the random-effects fit (forest plot column)
out$weights_REML <- num(weights(rma(yi, vi, data=dat, method="REML")))
write(toJSON(out, auto_unbox=TRUE, digits=NA), "extra.json")
cat("wrote extra.json\n")
