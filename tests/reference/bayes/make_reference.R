# Reference values for the Bayesian random-effects model
#   yi ~ N(theta_i, vi), theta_i ~ N(mu, tau^2), tau ~ prior, mu flat or N(m0, s0^2),
# computed independently in R: mu is integrated out analytically given tau, and every posterior
# summary is a one-dimensional integral over tau done with integrate() (quantiles by uniroot()).
# Usage (from this folder): Rscript make_reference.R   -> bayes_reference.json
suppressMessages({library(metafor); library(jsonlite)})

ITOL <- 1e-10

posterior <- function(y, v, logprior, upper = Inf, mu_prior = NULL, level = 0.95, delta = 0,
                      with_sd = TRUE) {
  m0 <- 0; w0 <- 0
  if (!is.null(mu_prior)) { m0 <- mu_prior[1]; w0 <- 1 / mu_prior[2]^2 }
  cond <- function(tau) {
    w <- 1 / (v + tau^2); prec <- sum(w) + w0; m <- (sum(w * y) + w0 * m0) / prec
    c(ll = 0.5 * sum(log(w)) - 0.5 * (sum(w * (y - m)^2) + w0 * (m0 - m)^2) - 0.5 * log(prec),
      m = m, V = 1 / prec)
  }
  logpost <- function(tau) logprior(tau) + cond(tau)[["ll"]]
  # typical tau: mode of the density of log(tau); used for scaling and break points only
  hi <- if (is.finite(upper)) log(upper) else 5
  s <- exp(optimize(function(lt) logpost(exp(lt)) + lt, c(-12, hi), maximum = TRUE)$maximum)
  c0 <- logpost(s)
  dens <- function(tau) sapply(tau, function(t) exp(logpost(t) - c0))
  breaks <- c(0, s * c(0.1, 0.3, 0.6, 1, 1.5, 2.5, 4, 8, 20))
  breaks <- c(breaks[breaks < upper], upper)
  integ <- function(f, b = upper) {
    if (b <= 0) return(0)
    br <- c(breaks[breaks < b], b)
    sum(sapply(seq_len(length(br) - 1), function(i)
      integrate(f, br[i], br[i + 1], rel.tol = ITOL, abs.tol = 1e-15, subdivisions = 2000L)$value))
  }
  mfun <- function(tau) sapply(tau, function(t) cond(t)[["m"]])
  Vfun <- function(tau) sapply(tau, function(t) cond(t)[["V"]])
  Z <- integ(dens)
  E <- function(g) integ(function(t) g(t) * dens(t)) / Z
  tau_cdf <- function(q) integ(dens, q) / Z
  mu_cdf <- function(x) E(function(t) pnorm((x - mfun(t)) / sqrt(Vfun(t))))
  pred_cdf <- function(x) E(function(t) pnorm((x - mfun(t)) / sqrt(Vfun(t) + t^2)))
  q <- function(cdf, p, lo, hi) uniroot(function(x) cdf(x) - p, c(lo, hi), tol = 1e-13)$root
  a <- (1 - level) / 2
  mu_mean <- E(mfun)
  tau_mean <- E(function(t) t)
  tau_hi <- if (is.finite(upper)) upper else 50 * s
  list(
    mu_mean = mu_mean,
    # (the posterior sds do not exist for heavy-tailed posteriors: with_sd = FALSE)
    mu_sd = if (with_sd) sqrt(E(function(t) Vfun(t) + (mfun(t) - mu_mean)^2)) else NA,
    mu_median = q(mu_cdf, 0.5, -20, 20), mu_ci_low = q(mu_cdf, a, -20, 20),
    mu_ci_high = q(mu_cdf, 1 - a, -20, 20),
    tau_mean = tau_mean, tau_sd = if (with_sd) sqrt(E(function(t) (t - tau_mean)^2)) else NA,
    tau_median = q(tau_cdf, 0.5, 0, tau_hi), tau_ci_low = q(tau_cdf, a, 0, tau_hi),
    tau_ci_high = q(tau_cdf, 1 - a, 0, tau_hi),
    pi_low = q(pred_cdf, a, -30, 30), pi_high = q(pred_cdf, 1 - a, -30, 30),
    prob_positive = E(function(t) pnorm(mfun(t) / sqrt(Vfun(t)))),
    prob_above_delta = E(function(t) pnorm((mfun(t) - delta) / sqrt(Vfun(t))))
  )
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
y <- as.numeric(bcg$yi); v <- as.numeric(bcg$vi)

half_normal <- function(s) function(t) -0.5 * (t / s)^2
half_cauchy <- function(s) function(t) -log1p((t / s)^2)
uniform <- function(u) function(t) ifelse(t <= u, 0, -Inf)
exponential <- function(r) function(t) -r * t

cases <- list(
  list(id = "bcg_half_normal", rows = 1:13, prior = "half-normal:0.5", lp = half_normal(0.5), delta = -0.5),
  list(id = "bcg_half_cauchy_normal_mu", rows = 1:13, prior = "half-cauchy:1", lp = half_cauchy(1),
       mu_prior = c(0, 1), delta = -0.5),
  list(id = "bcg_uniform", rows = 1:13, prior = "uniform:2", lp = uniform(2), upper = 2, level = 0.9, delta = 0.1),
  list(id = "bcg4_half_normal", rows = 1:4, prior = "half-normal:0.5", lp = half_normal(0.5), delta = -0.5),
  list(id = "bcg4_exponential_custom", rows = 1:4, prior = "exponential:2", lp = exponential(2), delta = -0.5),
  list(id = "bcg1_half_normal", rows = 1, prior = "half-normal:0.5", lp = half_normal(0.5), delta = 0.5),
  list(id = "bcg2_half_cauchy", rows = 1:2, prior = "half-cauchy:0.5", lp = half_cauchy(0.5), delta = 0,
       with_sd = FALSE),
  list(id = "bcg3_uniform_normal_mu", rows = 1:3, prior = "uniform:1", lp = uniform(1), upper = 1,
       mu_prior = c(-0.5, 0.5), delta = 0)
)

out <- lapply(cases, function(cs) {
  level <- if (is.null(cs$level)) 0.95 else cs$level
  upper <- if (is.null(cs$upper)) Inf else cs$upper
  res <- posterior(y[cs$rows], v[cs$rows], cs$lp, upper = upper, mu_prior = cs$mu_prior,
                   level = level, delta = cs$delta, with_sd = is.null(cs$with_sd))
  list(id = cs$id, yi = I(y[cs$rows]), vi = I(v[cs$rows]), tau_prior = cs$prior,
       mu_prior = if (is.null(cs$mu_prior)) NA else I(cs$mu_prior), level = level, delta = cs$delta,
       result = res)
})
writeLines(toJSON(list(source = "metadat::dat.bcg (escalc RR); R integrate()/uniroot()",
                       r_version = R.version.string, cases = out),
                  digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "bayes_reference.json")
