# Reference numbers for consilience.diagnostics, made with R metafor.
# Usage (from the repository root): Rscript tests/reference/metafor_diagnostics/make_reference.R
# Inputs: the yi/vi (and moderator columns) of every tests/reference/metafor/*.json file that has
# univariate fits, plus three small synthetic sets defined below. Output: one JSON per data set here.
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
oracle <- file.path(here, "..", "metafor")

num <- function(x) { x <- as.numeric(x); if (length(x) == 0) NA else x }
trying <- function(expr) tryCatch(expr, error = function(e) NULL)

fitrow <- function(r) list(estimate=num(r$b[1]), se=num(r$se[1]), stat=num(r$zval[1]), pval=num(r$pval[1]),
  ci_lb=num(r$ci.lb[1]), ci_ub=num(r$ci.ub[1]), tau2=num(r$tau2), I2=num(r$I2), H2=num(r$H2),
  QE=num(r$QE), QEp=num(r$QEp), k=r$k)

do_regtest <- function(yi, vi, method, test, mods=NULL) {
  r <- if (is.null(mods)) rma(yi, vi, method=method, test=test) else rma(yi, vi, mods=mods, method=method, test=test)
  eg <- regtest(r)
  f <- eg$fit
  list(zval=num(eg$zval), pval=num(eg$pval), ddf=num(eg$ddf), est=num(eg$est), ci_lb=num(eg$ci.lb),
       ci_ub=num(eg$ci.ub), tau2=num(f$tau2), slope=num(f$beta[f$p]), slope_se=num(f$se[f$p]),
       limit_se=num(f$se[1]))
}

do_trimfill <- function(yi, vi, method, test, level, estimator, side=NULL) {
  r <- rma(yi, vi, method=method, test=test, level=level)
  tf <- if (is.null(side)) trimfill(r, estimator=estimator, test=test, level=level)
        else trimfill(r, estimator=estimator, side=side, test=test, level=level)
  out <- fitrow(tf)
  out$k0 <- num(tf$k0); out$se_k0 <- num(tf$se.k0); out$side <- tf$side; out$p_k0 <- num(tf$p.k0)
  out$yi <- num(tf$yi); out$vi <- num(tf$vi); out$fill <- as.logical(tf$fill); out$ddf <- num(tf$ddf)
  out
}

do_list <- function(l) list(estimate=num(l$estimate), se=num(l$se), stat=num(if (is.null(l$zval)) l$tval else l$zval),
  pval=num(if (is.null(l$pval)) l$pvals else l$pval), ci_lb=num(l$ci.lb), ci_ub=num(l$ci.ub), QE=num(l$Q), QEp=num(l$Qp),
  tau2=num(if (is.null(l$tau2)) rep(0, length(l$estimate)) else l$tau2), I2=num(l$I2), H2=num(l$H2))

do_influence <- function(r) {
  inf <- influence(r)
  list(rstudent=num(inf$inf$rstudent), dffits=num(inf$inf$dffits), cook_d=num(inf$inf$cook.d), cov_r=num(inf$inf$cov.r),
       tau2_del=num(inf$inf$tau2.del), QE_del=num(inf$inf$QE.del), hat=num(inf$inf$hat), weight=num(inf$inf$weight),
       dfbs=lapply(unclass(inf$dfbs)[seq_len(r$p)], num), is_infl=as.logical(inf$is.infl))
}

do_funnel <- function(r, ...) {
  pdf(NULL); dev.control("enable")
  pts <- funnel(r, ...)
  dl <- recordPlot()[[1]]
  dev.off()
  polys <- list(); window <- NULL
  for (e in dl) {
    nm <- tryCatch(e[[2]][[1]]$name, error=function(err) "")
    if (nm == "C_plot_window" && is.null(window)) window <- list(xlim=num(e[[2]][[2]]), ylim=num(e[[2]][[3]]))
    if (nm == "C_polygon") polys[[length(polys) + 1]] <- list(x=num(e[[2]][[2]]), y=num(e[[2]][[3]]))
  }
  list(x=num(pts$x), y=num(pts$y), xlim=window$xlim, ylim=window$ylim, polygons=polys)
}

file_drawer_ref <- function(yi, vi, reported, method, test) {
  all <- rma(yi, vi, method=method, test=test)
  rep <- rma(yi, vi, method=method, test=test, subset=reported)
  unr <- rma(yi, vi, method=method, test=test, subset=!reported)
  con <- rma(yi, vi, mods=~as.numeric(reported), method=method, test=test)
  list(reported=reported, all=fitrow(all), reported_fit=fitrow(rep), unreported_fit=fitrow(unr),
       contrast=list(estimate=num(con$b[2]), se=num(con$se[2]), stat=num(con$zval[2]), pval=num(con$pval[2]),
                     ci_lb=num(con$ci.lb[2]), ci_ub=num(con$ci.ub[2]), tau2=num(con$tau2), ddf=num(con$ddf)))
}

run <- function(id, yi, vi, mods=NULL, order_key=NULL, funnel=FALSE, group=NULL) {
  out <- list(id=id, metafor_version=as.character(packageVersion("metafor")), input=list(yi=yi, vi=vi))
  if (!is.null(mods)) out$input$mods <- as.list(mods)
  if (!is.null(order_key)) out$input$order_key <- order_key
  reg <- list()
  for (mt in list(c("REML","z"), c("REML","knha"), c("EE","z"), c("DL","z"), c("PM","knha"), c("ML","z"))) {
    v <- trying(do_regtest(yi, vi, mt[1], mt[2])); if (!is.null(v)) reg[[paste(mt, collapse="_")]] <- v
  }
  if (!is.null(mods)) for (t in c("z", "knha")) {
    v <- trying(do_regtest(yi, vi, "REML", t, mods=as.matrix(mods))); if (!is.null(v)) reg[[paste0("REML_", t, "_mods")]] <- v
  }
  out$regtest <- reg
  rk <- ranktest(rma(yi, vi))
  sei <- sqrt(vi); theta <- weighted.mean(yi, 1/vi); ystar <- (yi - theta) / sqrt(vi - 1/sum(1/vi))
  ties <- min(length(unique(ystar)), length(unique(vi))) < length(yi)
  out$ranktest <- list(tau=num(rk$tau), pval=num(rk$pval), ties=ties)
  tf <- list()
  for (s in list(c("EE","z","95","L0"), c("REML","z","95","L0"), c("REML","z","95","R0"), c("REML","z","95","Q0"),
                 c("DL","knha","90","L0"), c("EE","z","95","R0"), c("PM","z","95","L0"))) {
    v <- trying(do_trimfill(yi, vi, s[1], s[2], as.numeric(s[3]), s[4])); if (!is.null(v)) tf[[paste(s, collapse="_")]] <- v
  }
  for (sd in c("left", "right")) {
    v <- trying(do_trimfill(yi, vi, "REML", "z", 95, "L0", side=sd)); if (!is.null(v)) tf[[paste0("REML_z_95_L0_", sd)]] <- v
  }
  out$trimfill <- tf
  l1 <- list(); infl <- list(); cu <- list()
  # every estimator on the smaller sets; the four common ones on the large ones (keeps the files small)
  methods <- list(c("REML","z"), c("REML","knha"), c("EE","z"), c("DL","z"))
  if (length(yi) <= 20) methods <- c(methods, list(c("PM","knha"), c("ML","z"), c("EB","z"), c("SJ","z"), c("HE","z"),
                                                   c("HS","z"), c("DL","knha")))
  for (mt in methods) {
    nm <- paste(mt, collapse="_")
    r <- trying(rma(yi, vi, method=mt[1], test=mt[2]))
    if (is.null(r)) next
    v <- trying(do_list(leave1out(r))); if (!is.null(v)) l1[[nm]] <- v
    v <- trying(do_influence(r)); if (!is.null(v)) infl[[nm]] <- v
    v <- trying(do_list(cumul(r))); if (!is.null(v)) cu[[nm]] <- v
  }
  if (!is.null(order_key)) for (mt in list(c("REML","z"), c("DL","knha"))) {
    r <- rma(yi, vi, method=mt[1], test=mt[2])
    cu[[paste0(paste(mt, collapse="_"), "_order")]] <- do_list(cumul(r, order=order_key))
  }
  if (!is.null(mods)) for (t in c("z", "knha")) {
    r <- rma(yi, vi, mods=as.matrix(mods), method="REML", test=t)
    v <- trying(do_influence(r)); if (!is.null(v)) infl[[paste0("REML_", t, "_mods")]] <- v
  }
  if (!is.null(group)) {
    # a factor level held by one study: its deletion refit cannot estimate that coefficient
    out$input$group <- group
    infl[["REML_z_group"]] <- do_influence(rma(yi, vi, mods=~factor(group)))
  }
  out$leave1out <- l1; out$influence <- infl; out$cumul <- cu
  if (funnel) {
    r <- rma(yi, vi)
    # ci.res: points per region line (metafor draws 1000; 40 keep the file small)
    out$funnel <- list(default=do_funnel(r, ci.res=40), contour=do_funnel(r, level=c(90, 95, 99), refline=0, ci.res=40),
                       addtau2=do_funnel(r, level=c(90, 95), addtau2=TRUE, ci.res=40),
                       trimfill=do_funnel(trimfill(r), ci.res=40))
  }
  reported <- 2 * pnorm(-abs(yi / sqrt(vi))) < 0.05
  if (sum(reported) >= 2 && sum(!reported) >= 2) {
    fd <- list()
    for (mt in list(c("REML","z"), c("DL","knha"), c("EE","z"))) {
      v <- trying(file_drawer_ref(yi, vi, reported, mt[1], mt[2])); if (!is.null(v)) fd[[paste(mt, collapse="_")]] <- v
    }
    out$file_drawer <- fd
  }
  out
}

modcols <- list(bcg_rr="ablat", bangertdrowns2004="length", raudenbush1985="weeks", molloy2014_zcor="meanage",
                curtis1998_rom="time")
funnels <- c("bcg_rr", "hackshaw1998", "pritz1997_plo")
for (path in sort(Sys.glob(file.path(oracle, "*.json")))) {
  d <- fromJSON(path)
  if (is.null(d$fits)) next
  id <- d$id; yi <- as.numeric(d$input$yi); vi <- as.numeric(d$input$vi)
  mods <- if (!is.null(modcols[[id]])) as.data.frame(d$input[modcols[[id]]]) else NULL
  key <- if (!is.null(d$input$year)) d$input$year else round(vi, 2)
  group <- if (id == "bcg_rr") c(rep("a", 6), rep("b", 6), "c") else NULL
  res <- run(id, yi, vi, mods=mods, order_key=key, funnel=id %in% funnels, group=group)
  write(toJSON(res, auto_unbox=TRUE, digits=NA, na="null", null="null"), file.path(here, paste0(id, ".json")))
  cat("wrote", id, "\n")
}

# synthetic sets: tied variances (ML runs on test sets of equal size), the smallest allowed k, and
# effects whose asymmetry sits on the left of the funnel
synthetic <- list(
  tied_ml = list(yi=c(0.012, 0.018, 0.004, 0.021, 0.015, 0.009, 0.030, 0.011, 0.018, 0.026),
                 vi=c(4e-5, 4e-5, 9e-5, 4e-5, 1e-4, 9e-5, 1.6e-4, 4e-5, 1e-4, 1.6e-4)),
  three = list(yi=c(0.2, 0.5, -0.1), vi=c(0.04, 0.09, 0.02)),
  left_gap = list(yi=c(0.05, 0.12, 0.18, 0.22, 0.31, 0.45, 0.52, 0.61, 0.70, 0.15, 0.25),
                  vi=c(0.001, 0.004, 0.006, 0.010, 0.020, 0.035, 0.050, 0.070, 0.090, 0.003, 0.008))
)
for (id in names(synthetic)) {
  s <- synthetic[[id]]
  res <- run(id, s$yi, s$vi, order_key=rev(seq_along(s$yi)), funnel=(id == "tied_ml"))
  write(toJSON(res, auto_unbox=TRUE, digits=NA, na="null", null="null"), file.path(here, paste0(id, ".json")))
  cat("wrote", id, "\n")
}
