# Reference group-sequential boundaries from R rpact (Debian package r-cran-rpact).
# Run from the repository root:  Rscript tests/reference/rpact/generate.R
# Writes rpact_boundaries.json beside this script. Cases avoid looks that spend less than about
# 1e-8 alpha: there rpact stops at its own tolerance (or returns Inf) and is not a reference.
suppressMessages({
  library(rpact)
  library(jsonlite)
})

cases <- list(
  list(looks = c(0.5, 0.75, 1), alpha = 0.025, sided = 1),
  list(looks = c(1 / 3, 2 / 3, 1), alpha = 0.025, sided = 1),
  list(looks = c(0.2, 0.4, 0.6, 0.8, 1), alpha = 0.025, sided = 1),
  list(looks = c(0.25, 0.6, 1), alpha = 0.05, sided = 2),
  list(looks = c(0.3, 0.45, 0.7, 0.9, 1), alpha = 0.01, sided = 1),
  list(looks = c(0.5, 1), alpha = 0.05, sided = 1)
)

out <- list()
for (cs in cases) {
  for (type in c("asOF", "asP")) {
    d <- getDesignGroupSequential(kMax = length(cs$looks), alpha = cs$alpha, sided = cs$sided,
                                  informationRates = cs$looks, typeOfDesign = type, beta = 0.2)
    ch <- getDesignCharacteristics(d)
    out[[length(out) + 1]] <- list(
      looks = cs$looks, alpha = cs$alpha, sided = cs$sided,
      spending = ifelse(type == "asOF", "obf", "pocock"),
      call = sprintf("getDesignGroupSequential(kMax=%d, alpha=%g, sided=%d, typeOfDesign='%s', beta=0.2)",
                     length(cs$looks), cs$alpha, cs$sided, type),
      critical_values = d$criticalValues,
      alpha_spent = d$alphaSpent,
      inflation_factor = ch$inflationFactor,
      shift = ch$shift,
      cumulative_power = ch$power
    )
  }
}

res <- list(
  generator = "tests/reference/rpact/generate.R",
  versions = list(rpact = as.character(packageVersion("rpact")), R = R.version.string),
  note = "shift is the squared drift giving power 0.8; cumulative_power is the probability of rejecting by each look under that drift",
  designs = out
)
path <- file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))), "rpact_boundaries.json")
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
cat("wrote", path, "\n")
