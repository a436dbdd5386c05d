# Reference hash buckets for meta-experiment assignment, from R digest (an independent SHA-256).
# Run from the repository root:  Rscript tests/reference/digest_sha256/generate.R
# Writes assignment_buckets.json beside this script.
# bucket = first 13 hex digits of sha256(salt ":" id) as an integer / 16^13 (exact in doubles).
suppressMessages({
  library(digest)
  library(jsonlite)
})

salts <- c("protocol-2024", "s1", "métrica-ü")
ids <- c("exp-0", "exp-1", "exp-2", "run/42", "ResNet-50 @ImageNet", "", "a:b", "日本語")
rows <- list()
for (salt in salts) {
  for (id in ids) {
    key <- enc2utf8(paste0(salt, ":", id))
    hex <- digest(key, algo = "sha256", serialize = FALSE)
    digits <- strtoi(strsplit(substr(hex, 1, 13), "")[[1]], 16L)
    value <- sum(digits * 16^(12:0))
    rows[[length(rows) + 1]] <- list(salt = salt, experiment = id, sha256 = hex, bucket = value / 16^13)
  }
}
res <- list(
  generator = "tests/reference/digest_sha256/generate.R",
  versions = list(digest = as.character(packageVersion("digest")), R = R.version.string),
  call = "digest(paste0(salt, ':', id), algo = 'sha256', serialize = FALSE)",
  rows = rows
)
path <- file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))), "assignment_buckets.json")
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
cat("wrote", path, "\n")
