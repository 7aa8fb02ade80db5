#!/usr/bin/env bash
# OpenGL through Zink (Mesa 25.0.7's GL on Vulkan) under Xvfb, in one run on the chroot's lavapipe:
# Zink on native lavapipe against Zink on our ICD (src/Venus.GuestIcd) over venus-host
# (--isolation thread), on two window paths:
#   sw      Mesa's software window path (LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink): every frame is
#           read back to the CPU and put to the X window.
#   kopper  Zink's own window path (the same plus MESA_LOADER_DRIVER_OVERRIDE=zink): Zink presents
#           through a VK_KHR_xcb_surface swapchain (lavapipe's natively, ours through our ICD).
# glxgears runs interleaved (native, ours, native, ...) ROUNDS times for SECONDS each per path; its
# "N frames in 5.0 seconds" lines after the first are the samples; medians are printed with the
# ratio. glmark2 (glmark2-x11, default scenes unless BENCH_GLMARK2_ARGS says otherwise) runs once
# per driver and path and its score is printed.
#
#   bash eng/bench-zink.sh [ROUNDS]     (default 3; or BENCH_ROUNDS)
#
# Environment:
#   BENCH_ROUNDS         glxgears rounds per driver (default 3)
#   BENCH_SECONDS        seconds per glxgears run (default 16: three 5-second samples)
#   BENCH_GLMARK2=0      skip glmark2
#   BENCH_GLMARK2_ARGS   glmark2 arguments (default: -s 300x300 -b :duration=2, every default scene for 2 s)
#   BENCH_PATHS          window paths to measure (default: "sw kopper")
#   BENCH_ICD_ENV        extra VAR=VALUE words for the runs through our ICD, e.g.
#                        VENUS_PERF=zink_push_descriptor (Zink pushes descriptors, as before the workaround)
# Logs: artifacts/bench-zink/<time>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
die() { echo "bench-zink.sh: $*" >&2; exit 1; }

rounds="${1:-${BENCH_ROUNDS:-3}}"
secs="${BENCH_SECONDS:-16}"
glmark="${BENCH_GLMARK2:-1}"
glmark_args="${BENCH_GLMARK2_ARGS:--s 300x300 -b :duration=2}"
paths="${BENCH_PATHS:-sw kopper}"
for p in $paths; do case "$p" in sw|kopper) ;; *) die "BENCH_PATHS: '$p' is not a window path (sw or kopper)";; esac; done
[ -n "$paths" ] || die "BENCH_PATHS is empty (sw, kopper or both)"
for w in ${BENCH_ICD_ENV:-}; do [[ "$w" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "BENCH_ICD_ENV: '$w' is not VAR=VALUE"; done
for n in "$rounds" "$secs"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || die "ROUNDS and BENCH_SECONDS must be positive numbers"
done
[ "$secs" -ge 11 ] || die "BENCH_SECONDS must be at least 11 (glxgears prints every 5 s; the first sample is dropped)"

echo "command: bash eng/bench-zink.sh $*  (BENCH_ROUNDS=$rounds BENCH_SECONDS=$secs BENCH_GLMARK2=$glmark BENCH_GLMARK2_ARGS='$glmark_args' BENCH_PATHS='$paths' BENCH_ICD_ENV='${BENCH_ICD_ENV:-}')"
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)'); $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

out="$root/artifacts/bench-zink/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
P="$(bash eng/peers.sh ensure)"
for f in usr/bin/glxgears usr/bin/Xvfb; do [ -e "$P/$f" ] || die "the chroot lacks /$f (eng/peers.sh installs mesa-utils and xvfb)"; done
[ "$glmark" = 0 ] || [ -e "$P/usr/bin/glmark2" ] || die "the chroot lacks /usr/bin/glmark2 (eng/peers.sh installs glmark2-x11)"
icd="$(bash eng/icd.sh install)"

tag="zink-$$"
sock="/tmp/bench-$tag.sock"
host_pid="$(bash eng/host.sh serve "$sock" --isolation thread)"
xvfb_pid=""
cleanup() {
  kill "$host_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  cp "$P$sock.log" "$out/venus-host.log" 2>/dev/null || true
  rm -f "$P$sock" "$P$sock.log" "$P/tmp/$tag.display"
}
trap cleanup EXIT

# Xvfb picks a free display itself and writes its number.
chroot "$P" sh -c "exec Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>/tmp/$tag.display" >"$out/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 100); do [ -s "$P/tmp/$tag.display" ] && break; sleep 0.1; done
display=":$(tr -d '\n' <"$P/tmp/$tag.display")"
[ "$display" != ":" ] || die "Xvfb did not report a display (log: $out/xvfb.log)"

# run PATH DRIVER OUTFILE CMD...: one GL app through Zink's window PATH (sw | kopper) on DRIVER (native | ours).
run() {
  local path="$1" driver="$2" file="$3"; shift 3
  local env=(DISPLAY="$display" XDG_RUNTIME_DIR=/tmp HOME=/tmp LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink vblank_mode=0)
  [ "$path" = kopper ] && env+=(MESA_LOADER_DRIVER_OVERRIDE=zink)
  if [ "$driver" = native ]; then env+=(VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json)
  else
    env+=(VK_DRIVER_FILES="$icd" VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock")
    # shellcheck disable=SC2206 # VAR=VALUE words
    env+=(${BENCH_ICD_ENV:-})
  fi
  chroot "$P" env -i PATH=/usr/bin:/bin "${env[@]}" "$@" >"$file" 2>&1 || true
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# ratio LABEL OURS NATIVE: "LABEL ours / native: N%" where both are numbers above 0.
ratio() { awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { if (a > 0 && b > 0) printf "%s ours / native: %.0f%%\n", l, 100 * a / b }'; }
label() { echo "Zink ($1) on $([ "$2" = native ] && echo "native lavapipe" || echo "our ICD, venus-host")"; }

for r in $(seq 1 "$rounds"); do
  for p in $paths; do
    for d in native ours; do
      run "$p" "$d" "$out/glxgears-$p-$d-$r.txt" timeout "$secs" glxgears
      grep -q "frames in" "$out/glxgears-$p-$d-$r.txt" || die "glxgears ($p) on $d printed no frame rate (see $out/glxgears-$p-$d-$r.txt)"
      grep -oE "= [0-9.]+ FPS" "$out/glxgears-$p-$d-$r.txt" | tail -n +2 | awk '{print $2}' >>"$out/glxgears-$p-$d.fps"
    done
  done
done
echo
echo "| glxgears (300x300, vblank off) | median FPS | samples |"
echo "| --- | ---: | --- |"
for p in $paths; do
  for d in native ours; do
    echo "| $(label "$p" "$d") | $(median <"$out/glxgears-$p-$d.fps") | $(tr '\n' ' ' <"$out/glxgears-$p-$d.fps") |"
  done
done
echo
for p in $paths; do ratio "glxgears ($p)" "$(median <"$out/glxgears-$p-ours.fps")" "$(median <"$out/glxgears-$p-native.fps")"; done

if [ "$glmark" != 0 ]; then
  echo
  echo "| glmark2 $glmark_args | score |"
  echo "| --- | ---: |"
  for p in $paths; do
    for d in native ours; do
      # shellcheck disable=SC2086
      run "$p" "$d" "$out/glmark2-$p-$d.txt" timeout 900 glmark2 $glmark_args
      score="$(grep -oE "glmark2 Score: [0-9]+" "$out/glmark2-$p-$d.txt" | awk '{print $3}')"
      echo "$score" >"$out/glmark2-$p-$d.score"
      echo "| $(label "$p" "$d") | ${score:-failed (see $out/glmark2-$p-$d.txt)} |"
    done
  done
  echo
  for p in $paths; do ratio "glmark2 ($p)" "$(cat "$out/glmark2-$p-ours.score")" "$(cat "$out/glmark2-$p-native.score")"; done
fi
echo
echo "logs: $out"
