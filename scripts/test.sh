#!/usr/bin/env bash
# Runs every test (unit, integration with real worker processes, end to end) and
# ends with the line "N passed, M failed" (N and M count test cases).
# Extra arguments go to `bazel test` (for example -c opt).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || exit 1
bazel test "$@" //... 
status=$?

logs=$(bazel info "$@" bazel-testlogs 2>/dev/null)
targets=$(bazel query 'tests(//...)' 2>/dev/null)
passed=0 failed=0 skipped=0 missing=0
for target in $targets; do
  package=${target#//}; package=${package%%:*}; name=${target##*:}
  xml="$logs/$package/$name/test.xml"
  if [[ ! -f $xml ]]; then missing=$((missing + 1)); continue; fi
  # The <testsuites> element carries the totals of the test binary.
  read -r tests failures errors disabled < <(python3 - "$xml" <<'PY'
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
# A test binary that did not build or run has no test.xml: count it as failed.
if ((status != 0 && failed == 0)); then failed=$((failed + (missing > 0 ? missing : 1))); fi
((skipped > 0)) && echo "$skipped skipped (each says why in its test log)"
echo "$passed passed, $failed failed"
((failed == 0))
