#!/usr/bin/env bash
# The test command of this repository (README.md). Run as root from anywhere:
#
#   bash eng/test.sh
#
# 1. ensures the peers chroot (eng/peers.sh ensure; Venus.Peers.Tests needs it and root);
# 2. checks that src/Venus.Protocol/Generated is what the generator makes (eng/codegen.sh --check),
#    which counts as one test;
# 3. builds Venus.sln once (Release); if that fails (a failure), each test project still builds
#    what it needs and runs, so one broken project does not hide the test results;
# 4. runs `dotnet test` on every tests/*/*.csproj that references Microsoft.NET.Test.Sdk (not on
#    support libraries such as tests/Venus.TestSupport) with a TRX logger into $VENUS_TEST_RESULTS
#    (default artifacts/test-results) and counts the outcomes from the TRX files.
#
# The last line is "N passed, N failed, N skipped". The exit status is 1 when anything failed:
# a test, the codegen check, the chroot, the build, a project whose run wrote no TRX (a crashed
# test host), ended with an error, or ran no test; and when no test ran at all.
#
# VENUS_TEST_TIMEOUT: seconds one project may run (default 1800).
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
results="${VENUS_TEST_RESULTS:-$root/artifacts/test-results}"
project_timeout="${VENUS_TEST_TIMEOUT:-1800}"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if [ "${CI:-}" = true ]; then
  # No MSBuild or compiler servers left behind holding the job's output open.
  export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0
fi

passed=0 failed=0 skipped=0 ran=0
problems=()
t_all=$SECONDS

phase() { echo; echo "==> $*"; }
took() { echo "    ($(( SECONDS - $1 )) s)"; }
problem() { problems+=("$1"); failed=$((failed + 1)); }

command -v python3 >/dev/null || { echo "test.sh: python3 is needed to read the TRX files"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
command -v dotnet >/dev/null || { echo "test.sh: dotnet is not on PATH"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

rm -rf "$results"
mkdir -p "$results"

# ---- 1. peers chroot ------------------------------------------------------------------------
phase "peers chroot (eng/peers.sh ensure)"
t=$SECONDS
if peers="$(bash eng/peers.sh ensure)"; then
  echo "    $peers"
else
  problem "peers chroot: eng/peers.sh ensure failed"
fi
took $t

# ---- 2. generated code is up to date --------------------------------------------------------
phase "generated code (eng/codegen.sh --check)"
t=$SECONDS
if bash eng/codegen.sh --check >"$results/codegen-check.log" 2>&1; then
  grep -E "^(vk\.xml|generated code)" "$results/codegen-check.log" | awk "!seen[\$0]++" | sed "s/^/    /"
  echo "    codegen --check: passed"
  passed=$((passed + 1))
else
  tail -n 40 "$results/codegen-check.log" | sed 's/^/    /'
  echo "    codegen --check: FAILED"
  problem "codegen --check: src/Venus.Protocol/Generated differs from a fresh generation (or the generator failed)"
fi
took $t

# ---- 3. build -------------------------------------------------------------------------------
phase "build Venus.sln (Release)"
t=$SECONDS
built=1
if dotnet build Venus.sln -c Release -nologo -v:minimal -clp:NoSummary >"$results/build.log" 2>&1; then
  warnings=$(grep -E ': warning [A-Z]+[0-9]+' "$results/build.log" | sort -u | wc -l)
  echo "    build succeeded ($warnings warnings; log: $results/build.log)"
else
  built=0
  grep -E ': error [A-Z]*[0-9]*' "$results/build.log" | sort -u | head -n 40 | sed 's/^/    /'
  tail -n 15 "$results/build.log" | sed 's/^/    /'
  problem "build: dotnet build Venus.sln -c Release failed"
fi
took $t

# ---- 3b. fuzz smoke -------------------------------------------------------------------------
# Every fuzz target of fuzz/Venus.Fuzz under afl-fuzz for a short run from the committed seeds,
# after every committed reproducer once; each target that crashes or hangs is a failure.
phase "fuzz smoke (eng/fuzz.sh regress; eng/fuzz.sh smoke ${VENUS_FUZZ_SMOKE_SECONDS:-30})"
t=$SECONDS
if bash eng/fuzz.sh regress >"$results/fuzz-regress.log" 2>&1; then
  sed 's/^/    /' "$results/fuzz-regress.log" | grep "venus-fuzz:"
  passed=$((passed + 1))
else
  tail -n 30 "$results/fuzz-regress.log" | sed 's/^/    /'
  problem "fuzz regress: a committed reproducer or seed is a finding again (eng/fuzz.sh regress)"
fi
bash eng/fuzz.sh smoke "${VENUS_FUZZ_SMOKE_SECONDS:-30}" >"$results/fuzz-smoke.log" 2>&1
grep -E "^fuzz [a-z]+:" "$results/fuzz-smoke.log" | sed 's/^/    /'
for target in decoder vtest render ring; do
  if grep -qE "^fuzz $target: .* crashes 0, hangs 0;" "$results/fuzz-smoke.log"; then
    passed=$((passed + 1))
  else
    tail -n 20 "$results/fuzz-smoke.log" | sed 's/^/    /'
    problem "fuzz smoke $target: a crash, a hang or no run (log: $results/fuzz-smoke.log)"
  fi
done
took $t

# ---- 4. tests -------------------------------------------------------------------------------
# Prints "passed failed skipped aborted" summed over the TRX files under $1 (aborted: runs that did
# not complete, e.g. a crashed test host), and on stderr the failed tests with their messages.
read_trx() {
  python3 - "$1" <<'PY'
import glob, os, sys
import xml.etree.ElementTree as ET

ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = aborted = 0
details, run_infos = [], []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.trx"), recursive=True)):
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        aborted += 1
        details.append(f"unreadable TRX {path}: {e}")
        continue
    for r in tree.iter(f"{{{ns['t']}}}UnitTestResult"):
        outcome = r.get("outcome", "")
        if outcome == "Passed":
            passed += 1
        elif outcome in ("NotExecuted", "Inconclusive", "Pending", "NotRunnable"):
            skipped += 1
        else:
            failed += 1
            msg = r.find("t:Output/t:ErrorInfo/t:Message", ns)
            text = (msg.text or "").strip() if msg is not None else ""
            lines = text.splitlines()
            more = f" (+{len(lines) - 12} lines)" if len(lines) > 12 else ""
            details.append(f"FAILED {r.get('testName')} [{outcome}]" +
                           "".join("\n        " + l for l in lines[:12]) + more)
    summary = tree.find("t:ResultSummary", ns)
    if summary is not None and summary.get("outcome") not in ("Completed", "Passed", "Warning"):
        aborted += 1
    if summary is not None:
        for info in summary.iterfind("t:RunInfos/t:RunInfo", ns):
            if info.get("outcome") in ("Error", "Failed", "Aborted"):
                t = info.find("t:Text", ns)
                lines = ((t.text or "") if t is not None else info.get("outcome")).strip().splitlines()
                run_infos.append("run: " + "".join("\n        " + l for l in lines[:10]))
if failed == 0:
    details += run_infos  # why a run without failed tests still failed (a crashed test host)
print(passed, failed, skipped, aborted)
for d in details:
    print("    " + d, file=sys.stderr)
PY
}

phase "tests"
shopt -s nullglob
projects=()
for proj in tests/*/*.csproj; do
  # Only test projects: a support library (no test SDK, e.g. Venus.TestSupport) has no tests to run.
  grep -qF 'Microsoft.NET.Test.Sdk' "$proj" && projects+=("$proj")
done
if [ ${#projects[@]} -eq 0 ]; then
  problem "tests: no test project under tests/"
fi
for proj in "${projects[@]}"; do
  name="$(basename "$proj" .csproj)"
  out="$results/$name"
  mkdir -p "$out"
  t=$SECONDS
  if ! grep -qF "$name.csproj" Venus.sln; then
    echo "  $name: FAILED, $proj is not in Venus.sln (add it with dotnet sln add)"
    problem "$name: not in Venus.sln"
    continue
  fi
  # After a failed solution build (already counted) each project builds what it needs itself, so
  # one broken project elsewhere does not hide these results, and no stale binary is tested.
  build_opt=--no-build
  [ $built = 1 ] || build_opt=
  timeout -k 30 "$project_timeout" \
    dotnet test "$proj" -c Release $build_opt --nologo \
      --logger "trx" --logger "console;verbosity=minimal" --results-directory "$out" \
      >"$out/console.log" 2>&1
  rc=$?
  if [ -z "$(find "$out" -name '*.trx' -print -quit)" ]; then
    echo "  $name: FAILED, no TRX written (dotnet test exit $rc: the build failed, or the test host crashed, timed out or did not start)"
    tail -n 25 "$out/console.log" | sed 's/^/    /'
    problem "$name: no TRX written (exit $rc)"
    continue
  fi
  read -r p f s a < <(read_trx "$out" 2>"$out/failures.txt")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s)); ran=$((ran + p + f))
  note=""
  if [ "$f" -gt 0 ]; then
    problems+=("$name: $f failed")
  elif [ "$a" -gt 0 ] || [ $rc -ne 0 ]; then
    note=", run aborted (exit $rc)"
    problem "$name: dotnet test exit $rc, run aborted or errored with no failed test recorded"
  elif [ $((p + f + s)) -eq 0 ]; then
    note=", no test ran"
    problem "$name: no test ran"
  fi
  echo "  $name: $p passed, $f failed, $s skipped$note ($(( SECONDS - t )) s)"
  if [ -s "$out/failures.txt" ]; then cat "$out/failures.txt"
  elif [ -n "$note" ]; then tail -n 15 "$out/console.log" | sed 's/^/    /'; fi
done

if [ $ran -eq 0 ]; then
  problem "no test ran at all"
fi

if [ "${CI:-}" = true ]; then dotnet build-server shutdown >/dev/null 2>&1 || true; fi

echo
if [ ${#problems[@]} -gt 0 ]; then
  echo "problems:"
  for p in "${problems[@]}"; do echo "  - $p"; done
fi
echo "results: $results (TRX per project)"
echo "total time: $(( SECONDS - t_all )) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#problems[@]} -eq 0 ]
