#!/usr/bin/env bash
# Real applications through our guest ICD, their output compared byte for byte (hashes) with native
# lavapipe's, as a table. Run as root:
#
#   bash eng/apps.sh [ffmpeg|gstreamer|ggml|render]...     (default: all four)
#
# - ffmpeg 7.1: Vulkan upload/download round trips in rgba, yuv420p and nv12 and two chains of
#   *_vulkan filters, hashed per frame (-f framemd5);
# - GStreamer 1.26: vulkanupload, vulkanimageidentity, vulkancolorconvert, vulkandownload, hashed
#   per buffer (checksumsink);
# - ggml 1.0 (trixie-backports): test-backend-ops on its Vulkan backend for a few ops, which checks
#   the backend against the CPU itself;
# - render: tests/clients/render.c, an offscreen render read back and hashed.
#
# Each case runs natively and then through our ICD on venus-host, through our ICD on virglrenderer
# 1.1.0 (which cannot export lavapipe's host-visible memory: there a clean error is the expected
# outcome, never output that differs) and through Mesa 25.0.7's venus guest on venus-host (the
# control for our host). It runs tests/Venus.Apps.Tests, the very comparisons `eng/test.sh` and CI
# run, and builds the table from what each test printed. The packages are installed into the peers
# chroot on first use (eng/peers.sh install). Exit status 1 when a comparison failed.
#
# VENUS_APPS_RESULTS: where the TRX and the console log go (default artifacts/apps).
# VENUS_APPS_TIMEOUT: seconds the whole run may take (default 1800).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
die() { echo "apps.sh: $*" >&2; exit 1; }
results="${VENUS_APPS_RESULTS:-$root/artifacts/apps}"

[ "$(id -u)" = 0 ] || die "must run as root (the peers chroot)"
command -v dotnet >/dev/null || die "dotnet is not on PATH"
command -v python3 >/dev/null || die "python3 is needed to read the TRX file"

filters=()
for app in "$@"; do
  case "$app" in
    ffmpeg) filters+=("FullyQualifiedName~Venus.Apps.Tests.FfmpegTests") ;;
    gstreamer) filters+=("FullyQualifiedName~Venus.Apps.Tests.GStreamerTests") ;;
    ggml) filters+=("FullyQualifiedName~Venus.Apps.Tests.GgmlTests") ;;
    render) filters+=("FullyQualifiedName~Venus.Apps.Tests.RenderTests") ;;
    *) die "unknown application '$app' (ffmpeg, gstreamer, ggml, render)" ;;
  esac
done
filter_opt=()
[ ${#filters[@]} -gt 0 ] && filter_opt=(--filter "$(IFS='|'; echo "${filters[*]}")")

bash eng/peers.sh ensure >/dev/null || die "eng/peers.sh ensure failed: no peers chroot"
rm -rf "$results" && mkdir -p "$results"
echo "apps.sh: building and running tests/Venus.Apps.Tests${*:+ ($*)}; log: $results/console.log" >&2
t0=$SECONDS
timeout -k 30 "${VENUS_APPS_TIMEOUT:-1800}" \
  dotnet test tests/Venus.Apps.Tests -c Release --nologo "${filter_opt[@]}" \
    --logger "trx;LogFileName=apps.trx" --logger "console;verbosity=minimal" --results-directory "$results" \
    >"$results/console.log" 2>&1
rc=$?
[ -f "$results/apps.trx" ] || { tail -n 30 "$results/console.log" >&2; die "no TRX written (dotnet test exit $rc)"; }

python3 - "$results/apps.trx" "$(( SECONDS - t0 ))" <<'PY'
import sys
import xml.etree.ElementTree as ET

ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
paths = ["ours on venus-host", "ours on virglrenderer", "Mesa on venus-host"]
apps = {"FfmpegTests": "ffmpeg", "GStreamerTests": "gstreamer", "GgmlTests": "ggml", "RenderTests": "render",
        "ComparisonRulesTests": "comparison rules (no app)"}

tree = ET.parse(sys.argv[1])
classes = {d.get("id"): d.find("t:TestMethod", ns).get("className", "")
           for d in tree.iter(f"{{{ns['t']}}}UnitTest")}
rows, native, counts, unexplained = {}, {}, {}, []
for r in tree.iter(f"{{{ns['t']}}}UnitTestResult"):
    app = apps.get(classes.get(r.get("testId"), "").split(".")[-1], "other")
    outcome = r.get("outcome")
    c = counts.setdefault(app, [0, 0])
    c[0 if outcome == "Passed" else 1] += 1
    out = r.find("t:Output/t:StdOut", ns)
    found = False
    for line in ((out.text or "") if out is not None else "").splitlines():
        line = line.strip()
        if line.startswith("apps-native: "):
            a, case, summary = [f.strip() for f in line[len("apps-native: "):].split(" | ", 2)]
            native[(a, case)] = summary
            rows.setdefault((a, case), {})
        elif line.startswith("apps-result: "):
            a, case, path, verdict, cell, detail = [f.strip() for f in line[len("apps-result: "):].split(" | ", 5)]
            rows.setdefault((a, case), {})[path] = cell
            found = True
    if outcome != "Passed" and not found:
        msg = r.find("t:Output/t:ErrorInfo/t:Message", ns)
        first = ((msg.text or "") if msg is not None else "").strip().splitlines()
        unexplained.append(f"{r.get('testName')}: {first[0] if first else outcome}")

def short(s, n):
    return s if len(s) <= n else s[: n - 1] + "…"

header = ["app", "case", "native"] + paths
table = [[a, case, short(native.get((a, case), "?"), 44)] + [cells.get(p, "-") for p in paths]
         for (a, case), cells in sorted(rows.items())]
widths = [max(len(str(x[i])) for x in [header] + table) for i in range(len(header))]
for line in [header, ["-" * w for w in widths]] + table:
    print("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip())
print()
print("same = the output (hashes) equals native's; clean error = the app failed (non-zero exit) where")
print("virglrenderer cannot export the memory it maps, printing nothing that differs; DIFFERS n/m = n of")
print("m frames/buffers/lines equal native's: wrong data.")
print()
for app, (p, f) in sorted(counts.items()):
    print(f"{app}: {p} passed, {f} failed")
for u in unexplained:
    print(f"FAILED without a comparison: {u}")
total_p = sum(p for p, _ in counts.values())
total_f = sum(f for _, f in counts.values())
print(f"{total_p} passed, {total_f} failed ({sys.argv[2]} s; TRX: {sys.argv[1]})")
sys.exit(1 if total_f or not counts else 0)
PY
