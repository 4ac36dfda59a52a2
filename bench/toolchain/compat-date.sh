#!/usr/bin/env bash
# The proxy benchmark on one toolchain at two compatibility dates, interleaved: does the date or the runtime move
# the figures? Edits wrangler.toml's compatibility_date for each run and restores it at the end.
#
#   bench/toolchain/compat-date.sh OLD_DATE NEW_DATE [OUT_DIR]
set -u
old_date=$1 new_date=$2 out=${3:-bench/toolchain}
mkdir -p "$out"
cp wrangler.toml "$out/.wrangler.toml.saved"
for round in 1 2; do
  for date in "$old_date" "$new_date"; do
    sed -i "s/^compatibility_date = .*/compatibility_date = \"$date\"/" wrangler.toml
    node bench/proxy/run.mjs > "$out/proxy-compat-$date-$round.log" 2>&1
    cp bench/proxy/results.json "$out/proxy-compat-$date-$round.json"
  done
done
mv "$out/.wrangler.toml.saved" wrangler.toml
