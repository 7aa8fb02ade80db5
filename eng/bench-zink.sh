#!/usr/bin/env bash
# OpenGL through Zink (Mesa 25.0.7's GL on Vulkan) under Xvfb, in one run on the chroot's lavapipe:
# Zink on native lavapipe against Zink on our ICD (src/Venus.GuestIcd) over venus-host
# (--isolation thread). Zink takes Mesa's software window path (LIBGL_ALWAYS_SOFTWARE=1
# GALLIUM_DRIVER=zink): every frame is read back to the CPU and put to the X window.
# glxgears runs interleaved (native, ours, native, ...) ROUNDS times for SECONDS each; its
# "N frames in 5.0 seconds" lines after the first are the samples; medians are printed with the
# ratio. glmark2 (glmark2-x11, default scenes unless BENCH_GLMARK2_ARGS says otherwise) runs once
# per driver and its score is printed.
#
#   bash eng/bench-zink.sh [ROUNDS]     (default 3; or BENCH_ROUNDS)
#
# Environment:
#   BENCH_ROUNDS         glxgears rounds per driver (default 3)
#   BENCH_SECONDS        seconds per glxgears run (default 16: three 5-second samples)
#   BENCH_GLMARK2=0      skip glmark2
#   BENCH_GLMARK2_ARGS   glmark2 arguments (default: -s 300x300 -b :duration=2, every default scene for 2 s)
# Logs: artifacts/bench-zink/<time>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
die() { echo "bench-zink.sh: $*" >&2; exit 1; }

rounds="${1:-${BENCH_ROUNDS:-3}}"
secs="${BENCH_SECONDS:-16}"
glmark="${BENCH_GLMARK2:-1}"
glmark_args="${BENCH_GLMARK2_ARGS:--s 300x300 -b :duration=2}"
for n in "$rounds" "$secs"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || die "ROUNDS and BENCH_SECONDS must be positive numbers"
done
[ "$secs" -ge 11 ] || die "BENCH_SECONDS must be at least 11 (glxgears prints every 5 s; the first sample is dropped)"

echo "command: bash eng/bench-zink.sh $*  (BENCH_ROUNDS=$rounds BENCH_SECONDS=$secs BENCH_GLMARK2=$glmark BENCH_GLMARK2_ARGS='$glmark_args')"
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

# run DRIVER OUTFILE CMD...: one GL app through Zink on DRIVER (native | ours).
run() {
  local driver="$1" file="$2"; shift 2
  local env=(DISPLAY="$display" XDG_RUNTIME_DIR=/tmp HOME=/tmp LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink vblank_mode=0)
  if [ "$driver" = native ]; then env+=(VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json)
  else env+=(VK_DRIVER_FILES="$icd" VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock"); fi
  chroot "$P" env -i PATH=/usr/bin:/bin "${env[@]}" "$@" >"$file" 2>&1 || true
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

for r in $(seq 1 "$rounds"); do
  for d in native ours; do
    run "$d" "$out/glxgears-$d-$r.txt" timeout "$secs" glxgears
    grep -q "frames in" "$out/glxgears-$d-$r.txt" || die "glxgears on $d printed no frame rate (see $out/glxgears-$d-$r.txt)"
    grep -oE "= [0-9.]+ FPS" "$out/glxgears-$d-$r.txt" | tail -n +2 | awk '{print $2}' >>"$out/glxgears-$d.fps"
  done
done
n_native="$(median <"$out/glxgears-native.fps")"
n_ours="$(median <"$out/glxgears-ours.fps")"
echo
echo "| glxgears (300x300, vblank off) | median FPS | samples |"
echo "| --- | ---: | --- |"
echo "| Zink on native lavapipe | $n_native | $(tr '\n' ' ' <"$out/glxgears-native.fps") |"
echo "| Zink on our ICD, venus-host | $n_ours | $(tr '\n' ' ' <"$out/glxgears-ours.fps") |"
awk -v a="$n_ours" -v b="$n_native" 'BEGIN { if (b > 0) printf "\nours / native: %.0f%%\n", 100 * a / b }'

if [ "$glmark" != 0 ]; then
  echo
  echo "| glmark2 $glmark_args | score |"
  echo "| --- | ---: |"
  for d in native ours; do
    # shellcheck disable=SC2086
    run "$d" "$out/glmark2-$d.txt" timeout 900 glmark2 $glmark_args
    score="$(grep -oE "glmark2 Score: [0-9]+" "$out/glmark2-$d.txt" | awk '{print $3}')"
    echo "| Zink on $([ "$d" = native ] && echo "native lavapipe" || echo "our ICD, venus-host") | ${score:-failed (see $out/glmark2-$d.txt)} |"
  done
fi
echo
echo "logs: $out"
