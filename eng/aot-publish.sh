#!/usr/bin/env bash
# NativeAOT-publishes one project of this checkout (used by eng/icd.sh and eng/cli.sh):
#
#   eng/aot-publish.sh PROJECT_DIR OUT_DIR
#
# One publish of a project at a time per checkout (two at once share obj/ and break ILC); the log is
# OUT_DIR/publish.log, and on failure its errors are printed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
project="${1:?usage: aot-publish.sh PROJECT_DIR OUT_DIR}"
out="${2:?usage: aot-publish.sh PROJECT_DIR OUT_DIR}"
name="$(basename "$project")"
mkdir -p "$out" "$root/artifacts"
exec 9>"$root/artifacts/$name.publish.lock"
flock 9
log="$out/publish.log"
dotnet publish "$project" -c Release -r linux-x64 -p:PublishAot=true -o "$out" --nologo \
  -p:TreatWarningsAsErrors=false >"$log" 2>&1 \
  || { grep -E "error|warning IL" "$log" | head -n 30 >&2; tail -n 5 "$log" >&2
       echo "aot-publish.sh: dotnet publish of $project failed (log: $log)" >&2; exit 1; }
