#!/usr/bin/env bash
# Runs the tests (unit, integration with real worker processes, end to end; by default
# every test of the workspace) and ends with the line "N passed, M failed" (N and M
# count test cases).
#
#   scripts/test.sh [BAZEL_FLAG...] [TARGET_PATTERN...]
#
# Arguments starting with // (or -//, to leave targets out) are target patterns
# (default //...); the others go to `bazel test` (for example -c opt).
#
# Only results written by this invocation count: each test runs afresh
# (--nocache_test_results) and a test.xml older than this script's start marker (left
# by an earlier run, for a test that did not build or was not run this time) counts
# as failed. When ../shared/data exists beside the checkout, tests get its absolute
# path as AIA_SHARED_DATA; tests that need it skip with a message otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

flags=() patterns=()
for arg in "$@"; do
  case "$arg" in
    //* | -//*) patterns+=("$arg") ;;
    *) flags+=("$arg") ;;
  esac
done
((${#patterns[@]} > 0)) || patterns=(//...)
if [[ -d ../shared/data ]]; then
  flags+=("--test_env=AIA_SHARED_DATA=$(realpath ../shared/data)")
fi

scripts/setup.sh || exit 1
marker=$(mktemp "${TMPDIR:-/tmp}/aia-test-start.XXXXXX")
trap 'rm -f "$marker"' EXIT
# The marker's time must be strictly before any test.xml of this run.
sleep 0.01
bazel test --nocache_test_results "${flags[@]}" -- "${patterns[@]}"
status=$?

logs=$(bazel info "${flags[@]}" bazel-testlogs 2>/dev/null)
query="tests(${patterns[0]#-})"
for pattern in "${patterns[@]:1}"; do
  if [[ $pattern == -* ]]; then query+=" - tests(${pattern#-})"; else query+=" + tests($pattern)"; fi
done
# Targets tagged manual are left out of `bazel test PATTERN`: leave them out here too.
targets=$(bazel query "($query) - attr(tags, '\bmanual\b', $query)" 2>/dev/null)
passed=0 failed=0 skipped=0 missing=0
for target in $targets; do
  package=${target#//}; package=${package%%:*}; name=${target##*:}
  # One test.xml per target, or one per shard or attempt under its directory.
  xmls=()
  while IFS= read -r xml; do xmls+=("$xml"); done < <(
    find "$logs/$package/$name" -name test.xml -newer "$marker" 2>/dev/null)
  if ((${#xmls[@]} == 0)); then
    echo "no test.xml from this run for $target (did not build or did not run): counted as failed"
    missing=$((missing + 1))
    continue
  fi
  for xml in "${xmls[@]}"; do
    # The <testsuites> element carries the totals of the test binary.
    read -r tests failures errors disabled < <(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = e = s = 0
for suite in suites:
    t += int(suite.get("tests", 0)); f += int(suite.get("failures", 0))
    e += int(suite.get("errors", 0))
    s += sum(1 for case in suite.iter("testcase") if case.find("skipped") is not None
             or case.get("result") == "skipped")
print(t, f, e, s)
PY
)
    failed=$((failed + failures + errors))
    skipped=$((skipped + disabled))
    passed=$((passed + tests - failures - errors - disabled))
  done
done
# A test binary that did not build or run this time has no fresh test.xml: it counts
# as failed, and so does a failed bazel command whose test.xml files show no failure.
failed=$((failed + missing))
if ((status != 0 && failed == 0)); then failed=1; fi
((skipped > 0)) && echo "$skipped skipped (each says why in its test log)"
echo "$passed passed, $failed failed"
((failed == 0))
