#!/usr/bin/env bash
# Runs the whole `npm test` N times (default 10) while a second copy of the tree
# runs `npm test` over and over beside it, as load, and prints every failure
# (which test, which run) and a summary line. Exits 1 when any run failed.
#
#   scripts/stress-tests.sh [N]
#
# The load copy is a separate clone of this tree (your uncommitted and untracked
# files included) with its own node_modules (hard links to this tree's, or a copy),
# in a temporary directory: two `npm test` in one tree would both run `tsc -b` and
# the bundler into the same dist/ and clobber each other. It is removed at the end.
#
# Environment: STRESS_LOGS=<dir> keeps the logs there (default: a temporary
# directory, printed at the start); STRESS_NO_LOAD=1 runs without the second copy.
set -euo pipefail

N="${1:-10}"
case "$N" in '' | *[!0-9]* | 0) echo "usage: $0 [N >= 1]" >&2; exit 2 ;; esac

ROOT="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
LOGS="${STRESS_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/aegis-stress-logs.XXXXXX")}"
mkdir -p "$LOGS"
COPY=""
LOAD_PID=""
RUN_PID=""
failed=0
failed_runs=""
done_runs=0
total_start=$SECONDS

# The runs and the load loop each run in their own session (setsid): ending one ends its
# whole process group (npm, node, jest workers), and nothing else.
stop_group() {
  if [ -n "$1" ]; then
    kill -TERM -- "-$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

cleanup() {
  stop_group "$RUN_PID"
  stop_group "$LOAD_PID"
  if [ -n "$COPY" ]; then rm -rf "$COPY"; fi
}
trap cleanup EXIT
# Stopped early (Ctrl-C, kill): still say what the finished runs showed.
trap 'echo; echo "stress: stopped during run $((done_runs + 1))"; if declare -F summary >/dev/null; then summary; fi; exit 130' INT TERM

# ---- the load copy ------------------------------------------------------------------
make_copy() {
  COPY="$(mktemp -d "${TMPDIR:-/tmp}/aegis-stress-load.XXXXXX")"
  # The working tree as it is (tracked files with their uncommitted changes), as a commit
  # object that no ref points to; `git stash create` prints nothing when there is no change.
  local commit
  commit="$(git -C "$ROOT" stash create 2>/dev/null || true)"
  commit="${commit:-$(git -C "$ROOT" rev-parse HEAD)}"
  git clone --quiet --shared --no-checkout "$ROOT" "$COPY/tree"
  git -C "$COPY/tree" checkout --quiet --detach "$commit"
  # Untracked files that are not ignored (a new test not yet added, say).
  (cd "$ROOT" && git ls-files --others --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$COPY/tree"
  # Its own node_modules: workspace packages are relative symlinks, so they point into the copy.
  # Hard links where possible (nothing in npm test writes into node_modules but its .cache,
  # which the copy must not share: a file written in place would change in both trees).
  cp -al "$ROOT/node_modules" "$COPY/tree/node_modules" 2>/dev/null || cp -a "$ROOT/node_modules" "$COPY/tree/node_modules"
  rm -rf "$COPY/tree/node_modules/.cache"
}

start_load() {
  setsid bash -c '
    cd "$1"
    i=0
    while :; do
      i=$((i + 1))
      if npm test >"$2/load-$i.log" 2>&1; then echo "load run $i: pass" >>"$2/load.txt"; else echo "load run $i: FAIL" >>"$2/load.txt"; fi
    done
  ' stress-load "$COPY/tree" "$LOGS" </dev/null >/dev/null 2>&1 &
  LOAD_PID=$!
}

# ---- reading a run's log --------------------------------------------------------------
# Jest prints a failed test as "  ● <describe> › <test>" and a failed file as "FAIL <path>".
failures_of() {
  local log="$1"
  grep -E '^(FAIL |  ● )' "$log" | grep -v '● Console' | sed -E 's/^  ● /    test: /; s/^FAIL /    file: /' | awk '!seen[$0]++' || true
}

# ---- the runs ---------------------------------------------------------------------------
echo "stress: $N run(s) of npm test in $ROOT; logs in $LOGS"
if [ "${STRESS_NO_LOAD:-}" != "1" ]; then
  make_copy
  start_load
  echo "stress: load: npm test looping in a copy of the tree ($COPY/tree)"
fi

summary() {
  local load_summary="no load"
  if [ -n "$LOAD_PID" ]; then
    local load_done load_failed
    load_done=$(grep -c . "$LOGS/load.txt" 2>/dev/null || true)
    load_failed=$(grep -c FAIL "$LOGS/load.txt" 2>/dev/null || true)
    load_summary="load copy: ${load_done:-0} complete run(s), ${load_failed:-0} failed"
    if [ "${load_failed:-0}" -gt 0 ]; then
      for f in $(grep FAIL "$LOGS/load.txt" | sed -E 's/^load run ([0-9]+).*/\1/'); do
        echo "load run $f: FAIL, log: $LOGS/load-$f.log"
        failures_of "$LOGS/load-$f.log"
      done
    fi
  fi
  echo "stress: $((done_runs - failed))/$done_runs runs passed${failed_runs:+ (failed:$failed_runs)}; $load_summary; $((SECONDS - total_start)) s"
}

for i in $(seq 1 "$N"); do
  log="$LOGS/run-$i.log"
  start=$SECONDS
  setsid bash -c 'cd "$1" && exec npm test' stress-run "$ROOT" </dev/null >"$log" 2>&1 &
  RUN_PID=$!
  rc=0
  wait "$RUN_PID" || rc=$?
  RUN_PID=""
  if [ "$rc" -eq 0 ]; then
    echo "run $i/$N: pass ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failed_runs="$failed_runs $i"
    echo "run $i/$N: FAIL ($((SECONDS - start)) s), log: $log"
    found="$(failures_of "$log")"
    if [ -n "$found" ]; then
      echo "$found"
    else
      # Not a test failure (the build or the type check): its last lines say what.
      tail -n 15 "$log" | sed 's/^/    | /'
    fi
  fi
  done_runs=$i
done

summary
[ "$failed" -eq 0 ]
