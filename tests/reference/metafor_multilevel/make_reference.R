# Reference values for multilevel (nested random intercepts) meta-analysis.
# Fits rma.mv(yi, vi, random = ~ 1 | a/b/..., method = "REML", test = T) with metafor and
# writes one JSON file per case, holding the input columns and the fitted quantities.
# Usage (from this folder): Rscript make_reference.R
suppressMessages({library(metafor); library(jsonlite)})

num <- function(x) as.numeric(x)

fit_fields <- function(res, tt) {
  p <- predict(res)
  list(estimate = num(res$b[1]), se = num(res$se[1]), stat = num(res$zval[1]),
       pval = num(res$pval[1]), ci_lb = num(res$ci.lb[1]), ci_ub = num(res$ci.ub[1]),
       pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub), df = if (tt == "t") num(res$ddf[1]) else NA,
       sigma2 = I(num(res$sigma2)), s_nlevels = I(num(res$s.nlevels)), QE = num(res$QE),
       QE_df = num(res$k - res$p), QEp = num(res$QEp), logLik = num(logLik(res)), k = res$k)
}

polish <- function(dat, f, s) {
  ll <- function(sv) as.numeric(logLik(rma.mv(yi, vi, random = f, data = dat, sigma2 = sv, method = "REML")))
  for (cycle in 1:50) {
    old <- s
    for (j in seq_along(s)) {
      g <- function(x) { sv <- s; sv[j] <- x; ll(sv) }
      s[j] <- optimize(g, c(0, max(2 * s[j], 1e-4)), maximum = TRUE, tol = 1e-15)$maximum
    }
    if (max(abs(s - old)) < 1e-12) break
  }
  s
}

fit_case <- function(id, source, dat, nested, tests = c("z", "t"), with_rma = FALSE) {
  f <- as.formula(paste("~ 1 |", paste(nested, collapse = "/")))
  fits <- list()
  for (tt in tests) {
    res <- rma.mv(yi, vi, random = f, data = dat, method = "REML", test = tt)
    fits[[tt]] <- fit_fields(res, tt)
    # metafor's optimiser may stop slightly short of the REML optimum; polish sigma2 by cyclic
    # golden-section search on the restricted log-likelihood (rma.mv with sigma2 held fixed)
    # and record the fit at the polished values as well.
    s2 <- polish(dat, f, res$sigma2)
    fits[[paste0(tt, "_polished")]] <- fit_fields(rma.mv(yi, vi, random = f, data = dat, sigma2 = s2,
                                                          method = "REML", test = tt), tt)
  }
  if (with_rma) {
    # one group per effect: the model is the univariate random-effects model
    uni <- rma(yi, vi, data = dat, method = "REML", control = list(threshold = 1e-14, maxiter = 1000))
    fits$rma_reml <- list(estimate = num(uni$b[1]), se = num(uni$se), tau2 = num(uni$tau2),
                          logLik = num(logLik(uni)))
  }
  input <- lapply(c(nested, "yi", "vi"), function(col) dat[[col]])
  names(input) <- c(nested, "yi", "vi")
  out <- list(id = id, source = source, metafor_version = as.character(packageVersion("metafor")),
              call = paste0("rma.mv(yi, vi, random = ", deparse(f), ", method = \"REML\", test = T)"),
              nested = I(nested), input = input, fits = fits)
  writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
             paste0(id, ".json"))
}

# 1. Schools within districts (two nested random intercepts), and districts alone.
k11 <- as.data.frame(dat.konstantopoulos2011)
fit_case("konstantopoulos2011_district_school", "metadat::dat.konstantopoulos2011", k11, c("district", "school"))
fit_case("konstantopoulos2011_district", "metadat::dat.konstantopoulos2011", k11, c("district"))

# 2. Simulated ML benchmark: seeds within tasks within experiments (three nested intercepts).
set.seed(20240601)
rows <- list()
for (e in 1:8) {
  u_e <- rnorm(1, 0, sqrt(0.04))
  for (t in 1:sample(3:6, 1)) {
    u_t <- rnorm(1, 0, sqrt(0.02))
    for (s in 1:sample(2:5, 1)) {
      vi <- runif(1, 0.002, 0.03)
      yi <- 0.1 + u_e + u_t + rnorm(1, 0, sqrt(0.01)) + rnorm(1, 0, sqrt(vi))
      rows[[length(rows) + 1]] <- data.frame(experiment = paste0("exp", e), task = paste0("task", t),
                                             seed = s, yi = yi, vi = vi)
    }
  }
}
sim3 <- do.call(rbind, rows)
fit_case("simulated_experiment_task_seed", "simulated in make_reference.R (set.seed(20240601))", sim3,
         c("experiment", "task", "seed"))

# 3. Simulated data without task-level variation: the task component sits on its lower bound.
set.seed(7)
rows <- list()
for (e in 1:10) {
  u_e <- rnorm(1, 0, sqrt(0.05))
  for (t in 1:4) {
    vi <- runif(1, 0.01, 0.05)
    rows[[length(rows) + 1]] <- data.frame(experiment = e, task = t, yi = 0.2 + u_e + rnorm(1, 0, sqrt(vi)), vi = vi)
  }
}
sim0 <- do.call(rbind, rows)
fit_case("simulated_boundary", "simulated in make_reference.R (set.seed(7))", sim0, c("experiment", "task"))

# 4. One group per effect: equals rma(yi, vi, method = "REML") on the BCG trials.
bcg <- as.data.frame(escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))
bcg$yi <- as.numeric(bcg$yi); bcg$vi <- as.numeric(bcg$vi)
fit_case("bcg_trial", "metadat::dat.bcg (escalc RR)", bcg, c("trial"), with_rma = TRUE)
