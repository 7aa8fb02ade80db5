#!/usr/bin/env bash
# Presentation benchmark, one run (not a test): vkmark 2025.01's score (its 13 default scenes,
# --winsys headless and --winsys xcb) and vkcube's frames per second (--present_mode 0, the time of
# 1,100 frames minus that of 100, so start-up does not count) for
#   native      trixie's lavapipe
#   venus-host  our ICD over vtest to venus-host on the same lavapipe
#   virgl       our ICD over vtest to virglrenderer 1.1.0 on the same lavapipe
#   mesa        Mesa 25.0.7's venus guest over vtest to venus-host (MESA_VK_WSI_DEBUG=sw: its X11
#               present needs DRI3 otherwise, which Xvfb lacks)
# all inside the peers chroot under one Xvfb (1024x768x24). Run as root from anywhere:
#
#   bash eng/bench-wsi.sh [SECONDS_PER_SCENE]     (default 3)
#
# It installs our ICD first (eng/icd.sh install) unless VENUS_ICD_MANIFEST names an installed one.
# A path that fails prints its exit status and last line instead of a figure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
die() { echo "bench-wsi.sh: $*" >&2; exit 1; }
seconds="${1:-3}"
[[ "$seconds" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "SECONDS_PER_SCENE must be a number, not '$seconds'"

P="$(bash eng/peers.sh ensure)"
# VENUS_ICD_MANIFEST: an installed manifest (a chroot path) instead of building one now.
icd="${VENUS_ICD_MANIFEST:-$(bash eng/icd.sh install | tail -n 1)}"
[ -f "$P$icd" ] || die "no ICD manifest at $P$icd"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Xvfb on the first free display (-displayfd writes its number).
fifo="$(mktemp -u /tmp/bench-wsi-XXXX)"; mkfifo "$fifo"
chroot "$P" env -i PATH=/usr/bin:/bin HOME=/tmp Xvfb -displayfd 1 -screen 0 1024x768x24 -nolisten tcp -noreset >"$fifo" 2>/dev/null &
pids+=($!)
read -r -t 30 display <"$fifo" || die "Xvfb did not start"
rm -f "$fifo"

tag="bench-wsi-$$"
vh="$(bash eng/host.sh serve "/tmp/$tag-vh.sock" | tail -n 1)"; pids+=("$vh")
vg="$(bash eng/peers.sh serve "/tmp/$tag-vg.sock" | tail -n 1)"; pids+=("$vg")

base=(env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp NODEVICE_SELECT=1 DISPLAY=":$display")
envs() {
  case "$1" in
    native) echo "VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json" ;;
    venus-host) echo "VK_DRIVER_FILES=$icd VN_DEBUG=vtest VTEST_SOCKET_NAME=/tmp/$tag-vh.sock" ;;
    virgl) echo "VK_DRIVER_FILES=$icd VN_DEBUG=vtest VTEST_SOCKET_NAME=/tmp/$tag-vg.sock" ;;
    mesa) echo "VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json VN_DEBUG=vtest VTEST_SOCKET_NAME=/tmp/$tag-vh.sock" \
      "MESA_VK_WSI_DEBUG=sw VK_LOADER_DISABLE_DYNAMIC_LIBRARY_UNLOADING=1" ;;
  esac
}
run() { # PATH COMMAND...: the command in the chroot for that path; output in $out, status in $rc
  local path="$1"; shift
  # shellcheck disable=SC2046
  out="$(chroot "$P" "${base[@]}" $(envs "$path") timeout 600 "$@" 2>&1)" && rc=0 || rc=$?
}
failed() { echo "FAILED (exit $rc: $(printf '%s\n' "$out" | grep -v '^venus: device extension' | tail -n 1 | cut -c1-80))"; }

vkmark_score() { # PATH WINSYS
  run "$1" vkmark --winsys "$2" -b ":duration=$seconds"
  local s; s="$(printf '%s\n' "$out" | sed -n 's/.*vkmark Score: \([0-9]*\).*/\1/p')"
  if [ "$rc" = 0 ] && [ -n "$s" ]; then echo "$s"; else failed; fi
}
vkcube_fps() { # PATH
  local t0 t1 t2
  t0=$(date +%s.%N); run "$1" vkcube --present_mode 0 --c 100; [ "$rc" = 0 ] || { failed; return; }
  t1=$(date +%s.%N); run "$1" vkcube --present_mode 0 --c 1100; [ "$rc" = 0 ] || { failed; return; }
  t2=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { d = (c - b) - (b - a); if (d <= 0) print "n/a"; else printf "%.0f\n", 1000 / d }'
}

echo "vkmark: 13 default scenes, ${seconds} s each; vkcube: 500x500, IMMEDIATE; Xvfb :$display; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %-22s %-22s %s\n' "path" "vkmark headless" "vkmark xcb" "vkcube FPS"
for path in native venus-host virgl mesa; do
  h="$(vkmark_score "$path" headless)"
  x="$(vkmark_score "$path" xcb)"
  c="$(vkcube_fps "$path")"
  printf '%-12s %-22s %-22s %s\n' "$path" "$h" "$x" "$c"
done
