# Connor (1987) sample size and power for McNemar's test, using the R code published with the
# HyLown "Compare Paired Proportions: McNemar's Z-test" calculators (powerandsamplesize.com),
# which cite Connor, Biometrics 43(1):207-211, p. 209.
# Run from the repository root:  Rscript tests/reference/connor1987/generate.R
# Writes connor1987.json beside this script; `published` holds the values printed on the pages.
suppressMessages(library(jsonlite))

connor_n <- function(p01, p10, alpha, beta, sides) {
  pdisc <- p10 + p01
  pdiff <- p10 - p01
  za <- if (sides == 2) qnorm(1 - alpha / 2) else qnorm(1 - alpha)
  ((za * sqrt(pdisc) + qnorm(1 - beta) * sqrt(pdisc - pdiff^2)) / pdiff)^2
}
connor_power <- function(p01, p10, alpha, n, sides) {
  pdisc <- p10 + p01
  pdiff <- p10 - p01
  if (sides == 2) {
    x1 <- (pdiff * sqrt(n) - qnorm(1 - alpha / 2) * sqrt(pdisc)) / sqrt(pdisc - pdiff^2)
    x2 <- (-pdiff * sqrt(n) - qnorm(1 - alpha / 2) * sqrt(pdisc)) / sqrt(pdisc - pdiff^2)
    pnorm(x1) + pnorm(x2)
  } else {
    x <- (abs(pdiff) * sqrt(n) - qnorm(1 - alpha) * sqrt(pdisc)) / sqrt(pdisc - pdiff^2)
    pnorm(x)
  }
}

rows <- list()
grid <- expand.grid(p01 = c(0.45, 0.12, 0.06, 0.30), p10 = c(0.05, 0.03), alpha = c(0.05, 0.01),
                    beta = c(0.2, 0.1), sides = c(1, 2), n = c(50, 400))
for (i in seq_len(nrow(grid))) {
  g <- grid[i, ]
  rows[[i]] <- list(p01 = g$p01, p10 = g$p10, alpha = g$alpha, beta = g$beta, sides = g$sides,
                    n_closed_form = connor_n(g$p01, g$p10, g$alpha, g$beta, g$sides),
                    n = g$n, power_at_n = connor_power(g$p01, g$p10, g$alpha, g$n, g$sides))
}
published <- list(
  list(source = "http://powerandsamplesize.com/Calculators/Compare-Paired-Proportions/McNemar-Z-test-2-Sided",
       p01 = 0.45, p10 = 0.05, alpha = 0.05, power = 0.80, sides = 2, n_required = 23),
  list(source = "http://powerandsamplesize.com/Calculators/Compare-Paired-Proportions/McNemar-Z-test-1-Sided",
       p01 = 0.45, p10 = 0.05, alpha = 0.05, power = 0.90, sides = 1, n_required = 23),
  list(source = "https://clinicaltrials-tools.vercel.app/calculators/mcnemar-test (Connor 1987)",
       discordance = 0.45, effect = 0.15, alpha = 0.05, power = 0.80, sides = 2, n_required = 155,
       achieved_power_percent = 80.1)
)
res <- list(generator = "tests/reference/connor1987/generate.R", versions = list(R = R.version.string),
            rows = rows, published = published)
path <- file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))), "connor1987.json")
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
cat("wrote", path, "\n")
