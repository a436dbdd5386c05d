# Reference normal-mixture boundaries from the R package confseq (Howard, Waudby-Smith & Ramdas).
# confseq is not in Debian or CRAN; its R package ships in the confseq source distribution on
# PyPI (confseq-0.0.11.tar.gz, folder r_package). Install it into a private library with
#   R CMD INSTALL -l <lib> confseq-0.0.11/r_package      (needs Rcpp and BH)
# then run from the repository root:
#   R_LIBS=<lib> Rscript tests/reference/confseq/generate.R
# Writes confseq_normal_mixture.json beside this script.
suppressMessages({
  library(confseq)
  library(jsonlite)
})

sd <- 1.5
alpha <- 0.05
optimize_at <- 40
t <- c(1, 2, 5, 10, 40, 100, 1000)
v <- t * sd^2
v_opt <- optimize_at * sd^2
bound <- normal_mixture_bound(v, alpha, v_opt, alpha, is_one_sided = FALSE)
# log mixture martingale for sums s at intrinsic times v (e-values)
s <- c(0.5, -2, 4, 10, 12, -30, 100)
log_mix <- normal_log_mixture(s, v, v_opt, alpha, is_one_sided = FALSE)

res <- list(
  generator = "tests/reference/confseq/generate.R",
  versions = list(confseq = as.character(packageVersion("confseq")), R = R.version.string),
  call = "normal_mixture_bound(v, alpha, v_opt, alpha, is_one_sided = FALSE); normal_log_mixture(s, v, v_opt, alpha, is_one_sided = FALSE)",
  sd = sd, alpha = alpha, optimize_at = optimize_at, t = t, v = v, v_opt = v_opt,
  bound = bound, s = s, log_mixture = log_mix
)
path <- file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))), "confseq_normal_mixture.json")
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
cat("wrote", path, "\n")
