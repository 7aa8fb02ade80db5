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
# Nothing to do when the last publish into OUT_DIR is newer than every source it is built from
# (eng/package.sh publishes what the tests' fixtures may just have published); bin/ and obj/, which
# builds rewrite, do not count.
stamp="$out/.published"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$project" ] && [ -z "$(find "$root/src" "$root/Directory.Build.props" \
     \( -name obj -o -name bin \) -prune -o -newer "$stamp" \
     \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.xml' \) -print -quit 2>/dev/null)" ]; then
  exit 0
fi
rm -f "$stamp"
dotnet publish "$project" -c Release -r linux-x64 -p:PublishAot=true -o "$out" --nologo \
  -p:TreatWarningsAsErrors=false >"$log" 2>&1 \
  || { grep -E "error|warning IL" "$log" | head -n 30 >&2; tail -n 5 "$log" >&2
       echo "aot-publish.sh: dotnet publish of $project failed (log: $log)" >&2; exit 1; }
echo "$project" >"$stamp"
