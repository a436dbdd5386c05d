# Reference effect sizes from R metafor's escalc() for consilience.effects.effect_sizes().
#
# Usage (from this folder):  Rscript make_reference.R escalc_reference.json
#
# Every case records the escalc() measure, the escalc argument -> column map, the non-default
# options, the input columns and the yi/vi metafor returns (NA -> null), at full double precision.
# Data: metadat data sets shipped with metafor plus small hand-made tables for the edge cases
# (zero cells, double-zero studies, proportions at 0 and n, correlations near +-1, pre/post data).
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args) >= 1) args[1] else "escalc_reference.json"

cases <- list()
add_case <- function(id, source, measure, data, cols, options = setNames(list(), character(0))) {
  data <- as.data.frame(data)
  call_args <- c(list(measure = measure), lapply(cols, function(col) data[[col]]), options)
  res <- suppressWarnings(do.call(escalc, call_args))
  input <- data[, unique(unname(cols)), drop = FALSE]
  cases[[length(cases) + 1]] <<- list(
    id = id, source = source, measure = measure, columns = as.list(cols), options = options,
    input = as.list(input), yi = as.numeric(res$yi), vi = as.numeric(res$vi))
}

tab_cols <- c(ai = "ai", bi = "bi", ci = "ci", di = "di")
grp_cols <- c(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")
mean_cols <- c(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i")
pair_cols <- c(m1i = "m1i", m2i = "m2i", sd1i = "sd1i", sd2i = "sd2i", ni = "ni", ri = "ri")

# ---- 2x2 tables: RR, OR, RD ----
bcg <- data.frame(ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg)
for (m in c("RR", "OR", "RD")) add_case(paste0("bcg_", m), "metadat::dat.bcg", m, bcg, tab_cols)

# dat.nielweise2007 has zero cells and one double-zero study (Yucel 2004)
niel <- dat.nielweise2007[, c("ai", "n1i", "ci", "n2i")]
for (m in c("RR", "OR", "RD")) {
  add_case(paste0("nielweise2007_", m), "metadat::dat.nielweise2007", m, niel, grp_cols)
  add_case(paste0("nielweise2007_", m, "_drop00"), "metadat::dat.nielweise2007", m, niel, grp_cols,
           list(drop00 = TRUE))
  for (to in c("all", "if0all", "none"))
    add_case(paste0("nielweise2007_", m, "_to_", to), "metadat::dat.nielweise2007", m, niel, grp_cols,
             list(to = to))
  add_case(paste0("nielweise2007_", m, "_add_0.25"), "metadat::dat.nielweise2007", m, niel, grp_cols,
           list(add = 0.25))
}

egger <- dat.egger2001[, c("ai", "n1i", "ci", "n2i")]
add_case("egger2001_OR", "metadat::dat.egger2001", "OR", egger, grp_cols)
lau <- dat.lau1992[, c("ai", "n1i", "ci", "n2i")]
add_case("lau1992_RD", "metadat::dat.lau1992", "RD", lau, grp_cols)

# hand-made: zero events in one arm, double zero, all events in both arms, all events in one arm,
# an empty arm (n = 0), no zero cells
zeros <- data.frame(ai = c(0, 3, 0, 10, 12, 7, 0, 5),
                    bi = c(10, 7, 20, 0, 0, 13, 0, 15),
                    ci = c(4, 0, 0, 10, 9, 11, 6, 5),
                    di = c(6, 12, 25, 0, 3, 9, 14, 15))
for (m in c("RR", "OR", "RD")) {
  add_case(paste0("zero_cells_", m), "hand-made", m, zeros, tab_cols)
  add_case(paste0("zero_cells_", m, "_drop00"), "hand-made", m, zeros, tab_cols, list(drop00 = TRUE))
  add_case(paste0("zero_cells_", m, "_to_none"), "hand-made", m, zeros, tab_cols, list(to = "none"))
  add_case(paste0("zero_cells_", m, "_to_all_add_1"), "hand-made", m, zeros, tab_cols,
           list(to = "all", add = 1))
}

# ---- two-group means: MD, SMD, ROM ----
norm <- dat.normand1999[, c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")]
curt <- dat.curtis1998[, c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")]
for (m in c("MD", "SMD", "ROM")) {
  add_case(paste0("normand1999_", m), "metadat::dat.normand1999", m, norm, mean_cols)
  add_case(paste0("curtis1998_", m), "metadat::dat.curtis1998", m, curt, mean_cols)
}

# hand-made: tiny groups (n1+n2 = 3 leaves the SMD correction undefined), zero SDs, equal means,
# non-positive means (ROM undefined), a missing SD
means <- data.frame(m1i = c(10, 5, 3, 2.5, 4, -1, 0, 7, 1e-3, 6),
                    sd1i = c(2, 1, 0, 0, 1.5, 1, 1, 0, 1e-4, NA),
                    n1i = c(2, 1, 10, 5, 2, 10, 8, 3, 40, 12),
                    m2i = c(8, 4, 2, 2.5, 3, 2, 3, 7, 2e-3, 5),
                    sd2i = c(3, 1, 0, 0, 0.5, 1, 1, 0, 3e-4, 2),
                    n2i = c(2, 2, 10, 5, 200, 10, 8, 1, 45, 14))
for (m in c("MD", "SMD", "ROM")) add_case(paste0("edge_means_", m), "hand-made", m, means, mean_cols)

# ---- single proportions: PR, PLO ----
pritz <- dat.pritz1997[, c("xi", "ni")]
for (m in c("PR", "PLO")) add_case(paste0("pritz1997_", m), "metadat::dat.pritz1997", m, pritz,
                                   c(xi = "xi", ni = "ni"))
# hand-made: xi = 0, xi = ni, ni = 1, ordinary rows
props <- data.frame(xi = c(0, 20, 0, 1, 7, 3, 50), ni = c(20, 20, 1, 1, 9, 100, 51))
props$mi <- props$ni - props$xi
for (m in c("PR", "PLO")) {
  add_case(paste0("edge_props_", m), "hand-made", m, props, c(xi = "xi", ni = "ni"))
  add_case(paste0("edge_props_", m, "_mi"), "hand-made", m, props, c(xi = "xi", mi = "mi"))
  add_case(paste0("edge_props_", m, "_to_none"), "hand-made", m, props, c(xi = "xi", ni = "ni"),
           list(to = "none"))
  add_case(paste0("edge_props_", m, "_to_if0all"), "hand-made", m, props, c(xi = "xi", ni = "ni"),
           list(to = "if0all"))
  add_case(paste0("edge_props_", m, "_to_all_add_1"), "hand-made", m, props, c(xi = "xi", ni = "ni"),
           list(to = "all", add = 1))
}

# ---- correlations: COR, ZCOR ----
molloy <- dat.molloy2014[, c("ri", "ni")]
mcd <- dat.mcdaniel1994[, c("ri", "ni")]
cors <- data.frame(ri = c(0.999, -0.9999, 1, -1, 0.5, 0.5, 0.5, 0, -0.3, 0.999999),
                   ni = c(50, 200, 30, 30, 2, 3, 4, 10, 1000, 12))
for (m in c("COR", "ZCOR")) {
  add_case(paste0("molloy2014_", m), "metadat::dat.molloy2014", m, molloy, c(ri = "ri", ni = "ni"))
  add_case(paste0("mcdaniel1994_", m), "metadat::dat.mcdaniel1994", m, mcd, c(ri = "ri", ni = "ni"))
  add_case(paste0("edge_cors_", m), "hand-made", m, cors, c(ri = "ri", ni = "ni"))
}

# ---- paired (pre/post) means: MC, SMCC ----
# columns as escalc: m1i/sd1i = first (e.g. post) measurement, m2i/sd2i = second, ri = their
# correlation; includes ri at -0.5, 0, 0.99, 1 (zero change-score SD when sd1i = sd2i), ni = 2
pairs <- data.frame(m1i = c(12.1, 30, 5, 5, 8.2, 101.5, 0.8, 7, 3.3, 14),
                    m2i = c(10.4, 27.5, 5, 4, 8.9, 99, 0.5, 6, 3.1, 12),
                    sd1i = c(3.2, 6, 1, 2, 1.1, 15, 0.2, 1.5, 0.9, 4),
                    sd2i = c(2.9, 5.5, 1, 2, 1.4, 14, 0.25, 1.5, 0.8, 4),
                    ni = c(25, 40, 12, 18, 9, 120, 30, 15, 2, 3),
                    ri = c(0.5, 0.7, 0.3, 1, -0.5, 0.99, 0, 0.85, 0.4, 0.6))
for (m in c("MC", "SMCC")) add_case(paste0("pairs_", m), "hand-made", m, pairs, pair_cols)

out <- list(metafor_version = as.character(packageVersion("metafor")),
            generator = "make_reference.R", cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = FALSE), outfile)
cat("wrote", length(cases), "cases to", outfile, "\n")
