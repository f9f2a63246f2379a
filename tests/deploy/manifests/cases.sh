# Test cases for the deploy shell tests, counted honestly by scripts/test.sh (a copy
# of tests/deploy/cases.sh, kept separate so that the two packages build alone).
#
#   source cases.sh
#   run_case NAME FUNCTION [ARG...]   # FUNCTION returns 0 pass, 77 skip, else fail
#   skip_all "REASON"                 # every case skips (a tool is missing, not root)
#   finish                            # writes $XML_OUTPUT_FILE, exits 1 if one failed
#
# A skipping case prints "SKIP: reason" (the last line on its stdout is taken as the
# reason). The JUnit XML written to $XML_OUTPUT_FILE (Bazel takes it instead of
# making its own one-case file) lists every case, skipped ones with <skipped/>.

_cases=() _results=() _messages=() _skip_all=""

skip_all() { _skip_all=$1; echo "SKIP: $1"; }

run_case() {
  local name=$1; shift
  local log status
  log=$(mktemp)
  echo "=== $name"
  if [[ -n $_skip_all ]]; then
    _cases+=("$name"); _results+=(skip); _messages+=("$_skip_all")
    echo "SKIP: $name: $_skip_all"
    return
  fi
  # In a subshell: a case may exit, and its cleanup traps stay its own.
  ("$@") >"$log" 2>&1
  status=$?
  cat "$log"
  _cases+=("$name")
  local last
  last=$(grep -v '^[[:space:]]*$' "$log" | tail -1)
  if ((status == 0)); then
    _results+=(pass); _messages+=(""); echo "--- PASS: $name"
  elif ((status == 77)); then
    _results+=(skip); _messages+=("${last#SKIP: }"); echo "--- SKIP: $name: ${last#SKIP: }"
  else
    _results+=(fail); _messages+=("$last"); echo "--- FAIL: $name (status $status): $last"
  fi
  rm -f "$log"
}

_xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }

finish() {
  local suite=${TEST_TARGET:-${0##*/}} failures=0 skipped=0 i
  for i in "${!_cases[@]}"; do
    [[ ${_results[i]} == fail ]] && failures=$((failures + 1))
    [[ ${_results[i]} == skip ]] && skipped=$((skipped + 1))
  done
  if [[ -n ${XML_OUTPUT_FILE:-} ]]; then
    {
      echo '<?xml version="1.0" encoding="UTF-8"?>'
      echo "<testsuites tests=\"${#_cases[@]}\" failures=\"$failures\" errors=\"0\">"
      echo "<testsuite name=\"$(_xml_escape <<<"$suite")\" tests=\"${#_cases[@]}\" failures=\"$failures\" errors=\"0\" skipped=\"$skipped\">"
      for i in "${!_cases[@]}"; do
        echo -n "<testcase name=\"$(_xml_escape <<<"${_cases[i]}")\" classname=\"$(_xml_escape <<<"$suite")\">"
        case ${_results[i]} in
          fail) echo -n "<failure message=\"$(_xml_escape <<<"${_messages[i]}")\"/>" ;;
          skip) echo -n "<skipped message=\"$(_xml_escape <<<"${_messages[i]}")\"/>" ;;
        esac
        echo "</testcase>"
      done
      echo "</testsuite></testsuites>"
    } > "$XML_OUTPUT_FILE"
  fi
  echo "${#_cases[@]} cases: $((${#_cases[@]} - failures - skipped)) passed, $failures failed, $skipped skipped"
  ((failures == 0))
  exit
}
