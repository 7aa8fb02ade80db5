#!/usr/bin/env bash
# A real virtio-gpu VM with the venus capset (../shared/docs/vm.md), for the guest ICD's virtgpu
# transport: QEMU 10 (TCG) from the peers chroot, virglrenderer 1.1.0's render server rendering on
# lavapipe, a Debian trixie kernel, and an initramfs holding our ICD, Mesa's venus ICD, vulkaninfo
# and the test clients. Run as root.
#
#   eng/vm.sh build              install QEMU into the peers chroot, cache the kernel, build our ICD
#                                and the guest initramfs; prints the initramfs path
#   eng/vm.sh run [SCENARIO]...  build once, then boot each scenario (default venus) and write its
#                                serial log to artifacts/vm/SCENARIO.log; prints the log's path for
#                                each scenario whose guest ran every step and powered off, explains
#                                each that did not (readable message on stderr), and then fails
#
# Scenarios (tests/vm/init runs the steps): venus (default: the device offers the venus capset;
# vulkaninfo, the compute job, sync, exts and extfd through our ICD and Mesa's, clean failures, and
# presentation: vkmark --winsys headless through both, tests/clients/wsi.c headless through ours,
# venus doctor on the device, on a node that is not virtio-gpu and with vgem's render node next to it),
# timing (the same device: wall times and icdbench's latency metrics, both drivers interleaved) and novenus (a virgl-only device:
# both drivers must refuse it cleanly, venus doctor must say why). rsvenus and rstiming are venus and timing with our
# venus-host (NativeAOT, eng/host.sh install) as QEMU's render server instead of virglrenderer's
# (RENDER_SERVER_EXEC_PATH); rsvenus also runs a hostile guest program, then the compute job again.
# Their host log is artifacts/vm/SCENARIO.host.log.
#
# VENUS_VM_TIMEOUT: seconds one boot may take (default 600). VENUS_VM_CPUS (default 1),
# VENUS_VM_MEMORY (default 2G), VENUS_VM_ACCEL (default tcg; KVM here cannot run a stock kernel).
#
# QEMU 10.0's TCG sometimes aborts with "iotlb_to_section: Assertion ... failed" while guest
# processes map and unmap host-visible blobs: a QEMU bug (a guest process cannot legitimately
# crash it), seen here in roughly 1 of 60 guest processes, with 1 or 2 vCPUs, with and without
# MTTCG, and with pauses between processes. So the checks are split into boots of about a dozen
# processes (venus, timing), and a boot that dies of exactly that assertion is booted again, up
# to 3 times, saying so; its log is kept as SCENARIO.log.qemu-abort-N.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "vm.sh: $*" >&2; exit 1; }
usage="usage: vm.sh build | run [venus|timing|novenus|rsvenus|rstiming]..."
case "${1:-}" in
  build) [ $# -eq 1 ] || die "$usage" ;;
  run) for s in "${@:2}"; do
         case "$s" in venus|timing|novenus|rsvenus|rstiming) ;; *) die "unknown scenario '$s' (venus, timing, novenus, rsvenus, rstiming)" ;; esac
       done ;;
  *) die "$usage" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (chroot, mounts)"

PEERS="$(bash "$root/eng/peers.sh" ensure)"
# Everything the VM uses lives inside the peers chroot, where QEMU runs: the kernel cache is shared,
# the initramfs is per checkout.
cache=/var/cache/venus-vm
work="/var/tmp/venus-vm-$(printf %s "$root" | md5sum | cut -c1-8)"
out="$root/artifacts/vm"
timeout_s="${VENUS_VM_TIMEOUT:-600}"

# What QEMU and the initramfs need in the chroot: package -> a path that proves it is there.
HOST_PKGS=(
  "qemu-system-x86:usr/bin/qemu-system-x86_64"
  "qemu-system-modules-opengl:usr/lib/x86_64-linux-gnu/qemu/hw-display-virtio-gpu-gl.so"
  "libgl1:usr/lib/x86_64-linux-gnu/libGL.so.1"
  "libopengl0:usr/lib/x86_64-linux-gnu/libOpenGL.so.0"
  "busybox-static:usr/bin/busybox"
  "kmod:usr/sbin/depmod"
  "xz-utils:usr/bin/xz"
  "cpio:usr/bin/cpio"
)

# The programs tests/vm/init runs, built from tests/clients (and tests/vm/vmrun.c, hostile.c) into /usr/bin.
CLIENTS=(compute sync exts extfd wsi vmrun hostile)

# The trixie kernel (linux-image-amd64's current version) and the modules virtio-gpu needs,
# decompressed (busybox insmod cannot read .ko.xz) and numbered in load order.
ensure_kernel() {
  local pkg
  pkg="$(chroot "$PEERS" apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
  [ -n "$pkg" ] || die "the peers chroot's apt does not know linux-image-amd64 (try: chroot $PEERS apt-get update)"
  local kver="${pkg#linux-image-}"
  kdir="$cache/kernel-$kver"
  # extra/vgem.ko: a render node of another DRM driver, for venus doctor (a cache without it is redone).
  [ -f "$PEERS$kdir/.ready" ] && [ -f "$PEERS$kdir/extra/vgem.ko" ] && return 0
  (
    flock -w 600 9 || die "timed out waiting for another kernel download"
    [ -f "$PEERS$kdir/.ready" ] && [ -f "$PEERS$kdir/extra/vgem.ko" ] && exit 0
    echo "vm.sh: fetching kernel $kver" >&2
    rm -rf "$PEERS$kdir" "$PEERS$kdir.partial"
    mkdir -p "$PEERS$kdir.partial/deb" "$PEERS$kdir.partial/modules"
    chmod 777 "$PEERS$kdir.partial/deb"   # apt-get download runs as _apt where it can
    chroot "$PEERS" sh -c "cd '$kdir.partial/deb' && apt-get download -q '$pkg'" >"$PEERS$kdir.partial/download.log" 2>&1 \
      || { chroot "$PEERS" apt-get update -qq && chroot "$PEERS" sh -c "cd '$kdir.partial/deb' && apt-get download -q '$pkg'"; } \
      >>"$PEERS$kdir.partial/download.log" 2>&1 || { tail -n 20 "$PEERS$kdir.partial/download.log" >&2; die "apt-get download $pkg failed"; }
    chroot "$PEERS" sh -c "dpkg-deb -x '$kdir.partial'/deb/*.deb '$kdir.partial/x'" || die "cannot unpack $pkg"
    local mroot="$kdir.partial/x/usr"
    [ -d "$PEERS$mroot/lib/modules/$kver" ] || mroot="$kdir.partial/x"
    chroot "$PEERS" depmod -b "$mroot" "$kver" || die "depmod on $pkg failed"
    local dep="$PEERS$mroot/lib/modules/$kver/modules.dep"
    local line
    line="$(grep -E '/virtio-gpu\.ko(\.xz)?:' "$dep")" || die "$pkg has no virtio-gpu module"
    # modules.dep lists a module's dependencies with the ones loaded last first.
    local mods=() m n=0
    for m in ${line#*:}; do mods=("$m" "${mods[@]}"); done
    mods+=("${line%%:*}")
    for m in "${mods[@]}"; do
      n=$((n + 1))
      local base
      base="$(basename "$m" .xz)"
      chroot "$PEERS" sh -c "xz -dc '$mroot/lib/modules/$kver/$m' > '$kdir.partial/modules/$(printf %02d $n)-$base'" \
        || die "cannot decompress $m"
    done
    # vgem needs only modules virtio-gpu already loaded (drm, drm_shmem_helper); it is loaded late, by hand.
    local vgem
    vgem="$(grep -oE '^[^:]*/vgem\.ko(\.xz)?' "$dep")" || die "$pkg has no vgem module"
    mkdir -p "$PEERS$kdir.partial/extra"
    chroot "$PEERS" sh -c "xz -dc '$mroot/lib/modules/$kver/$vgem' > '$kdir.partial/extra/vgem.ko'" || die "cannot decompress $vgem"
    cp "$PEERS$kdir.partial/x/boot/vmlinuz-$kver" "$PEERS$kdir.partial/vmlinuz"
    rm -rf "$PEERS$kdir.partial/x" "$PEERS$kdir.partial/deb"
    mv "$PEERS$kdir.partial" "$PEERS$kdir"
    touch "$PEERS$kdir/.ready"
  ) 9>"$PEERS$cache.lock" || exit 1
}

# Copies FILE (a path inside the chroot) and the shared libraries it needs into the staging root,
# at the same paths, symlinks resolved.
copy_closure() {
  local f lib
  for f in "$@"; do
    [ -e "$PEERS$f" ] || die "the chroot has no $f"
    mkdir -p "$stage$(dirname "$f")"
    cp -L "$PEERS$f" "$stage$f"
    while read -r lib; do
      [ -e "$stage$lib" ] && continue
      mkdir -p "$stage$(dirname "$lib")"
      cp -L "$PEERS$lib" "$stage$lib"
    done < <(chroot "$PEERS" ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/lib/{print $1}')
  done
}

build() {
  mkdir -p "$PEERS$cache" "$out"
  bash "$root/eng/peers.sh" install "${HOST_PKGS[@]}" || die "could not install the VM's packages into $PEERS"
  ensure_kernel
  local icd
  icd="$(bash "$root/eng/icd.sh" install)" || die "eng/icd.sh install failed"
  local icd_dir
  icd_dir="$(dirname "$icd")"
  # Our render server (rsvenus, rstiming): venus-host published with NativeAOT into the chroot.
  host_exe="$(bash "$root/eng/host.sh" install)" || die "eng/host.sh install failed"
  # venus doctor, run in the guest where the apps run.
  local cli
  cli="$(bash "$root/eng/cli.sh" install)" || die "eng/cli.sh install failed"

  # The test clients, built in the chroot (its glibc and loader are the guest's).
  rm -rf "$PEERS$work" && mkdir -p "$PEERS$work/clients"
  cp "$root"/tests/clients/*.c "$root"/tests/clients/*.h "$root"/tests/clients/*.comp "$root/tests/vm/vmrun.c" "$root/tests/vm/hostile.c" \
    "$root/bench/clients/icdbench.c" "$root/bench/clients/icdbench.comp" "$PEERS$work/clients/"
  # A client's "/* link: ... */" line names the libraries it needs besides Vulkan (as in ClientBuild.cs).
  # icdbench (bench/clients) for the timing boots' latency table, built as eng/bench-icd.sh builds it.
  chroot "$PEERS" sh -c "cd '$work/clients' && for c in ${CLIENTS[*]}; do libs=\$(sed -n 's,^/\\* link: \\(.*\\) \\*/\$,\\1,p' \$c.c); \
      gcc -std=c11 -O2 -Wall -o \$c \$c.c -lvulkan \$libs || exit 1; done && \
      gcc -O2 -Wall -o icdbench icdbench.c -lvulkan -lpthread && \
      glslangValidator -V -o compute.comp.spv compute.comp >/dev/null && \
      glslangValidator -V -o icdbench.comp.spv icdbench.comp >/dev/null" >"$PEERS$work/clients.log" 2>&1 \
    || { cat "$PEERS$work/clients.log" >&2; die "building the test clients in the chroot failed"; }
  # extfd natively on lavapipe in the chroot: the reference the guest's runs are compared with
  # (its memory checksum; tests/Venus.Vm.Tests). About a second.
  chroot "$PEERS" env VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json "$work/clients/extfd" \
    >"$out/extfd-native.log" 2>&1 || echo "vm.sh: extfd natively on lavapipe failed (see $out/extfd-native.log)" >&2

  stage="$PEERS$work/root"
  mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,opt/venus,lib/modules/venus,usr/bin,usr/share/vulkan/icd.d}
  cp "$PEERS/usr/bin/busybox" "$stage/bin/busybox"
  cp "$root/tests/vm/init" "$stage/init" && chmod 755 "$stage/init"
  cp "$PEERS$kdir"/modules/*.ko "$stage/lib/modules/venus/"
  mkdir -p "$stage/lib/modules/extra" && cp "$PEERS$kdir/extra/vgem.ko" "$stage/lib/modules/extra/"
  # vkmark (its headless window system and scene data) for the presentation steps.
  copy_closure /usr/bin/vkmark /usr/lib/x86_64-linux-gnu/vkmark/headless.so
  mkdir -p "$stage/usr/share" && cp -r "$PEERS/usr/share/vkmark" "$stage/usr/share/vkmark"
  copy_closure /usr/bin/vulkaninfo /usr/lib/x86_64-linux-gnu/libvulkan.so.1 \
    /usr/lib/x86_64-linux-gnu/libvulkan_virtio.so "$icd_dir/libvenus_icd.so" \
    "${CLIENTS[@]/#/$work/clients/}" "$work/clients/icdbench" "$cli"
  mv "$stage$cli" "$stage/usr/bin/venus"
  cp "$PEERS/usr/share/vulkan/icd.d/virtio_icd.json" "$stage/usr/share/vulkan/icd.d/"
  cp "$stage$icd_dir/libvenus_icd.so" "$stage/opt/venus/libvenus_icd.so"
  cp "$PEERS$icd" "$stage/opt/venus/venus_icd.json"
  for b in "${CLIENTS[@]}" icdbench; do mv "$stage$work/clients/$b" "$stage/usr/bin/$b"; done
  cp "$PEERS$work/clients/compute.comp.spv" "$PEERS$work/clients/icdbench.comp.spv" "$stage/opt/venus/"
  rm -rf "${stage:?}$work" "${stage:?}$icd_dir" "${stage:?}$(dirname "$cli")"
  ln -sf libvulkan.so.1 "$stage/usr/lib/x86_64-linux-gnu/libvulkan.so"

  chroot "$PEERS" sh -c "cd '$work/root' && find . | cpio -o -H newc --quiet > '$work/guest.cpio'" \
    || die "packing the initramfs failed"
  initrd="$work/guest.cpio"
  echo "vm.sh: initramfs $(( $(stat -c %s "$PEERS$initrd") / 1048576 )) MiB, kernel $kdir" >&2
}

run() {
  build
  local failed=0 scenario
  for scenario in "$@"; do
    run_one "$scenario" || failed=1
  done
  return "$failed"
}

# Boots one scenario (up to 3 times on QEMU's known abort); 0 when the guest ran every step.
run_one() {
  local scenario="$1" device
  case "$scenario" in
    venus|timing|rsvenus|rstiming) device="virtio-gpu-gl-pci,venus=on,blob=on,hostmem=2G" ;;
    novenus) device="virtio-gpu-gl-pci" ;;
  esac
  local log="$out/$scenario.log" attempt
  for attempt in 1 2 3; do
    boot "$scenario" "$device" "$log" && return 0
    if [ "$attempt" -lt 3 ] && grep -aq "qemu-system-x86_64: .*iotlb_to_section: Assertion" "$log"; then
      echo "vm.sh: QEMU aborted on its known TCG iotlb assertion (a QEMU bug, attempt $attempt of 3); booting again" >&2
      mv "$log" "$log.qemu-abort-$attempt"
      continue
    fi
    return 1
  done
}

boot() {
  local scenario="$1" device="$2" log="$3"
  rm -f "$log"
  echo "vm.sh: booting ($scenario: -device $device), serial log $log" >&2
  local t0=$SECONDS rc=0 server=""
  # rs*: libvirglrenderer in QEMU starts our venus-host as its render server; it logs to a file.
  local hostlog="$work/$scenario.host.log"
  rm -f "$PEERS$hostlog" "$out/$scenario.host.log"
  case "$scenario" in rs*) server="RENDER_SERVER_EXEC_PATH=$host_exe VENUS_HOST_LOG=$hostlog${VENUS_HOST_ISOLATION:+ VENUS_HOST_ISOLATION=$VENUS_HOST_ISOLATION}" ;; esac
  # A private mount namespace: /sys is bound into the chroot for QEMU only and goes away with it.
  # The render server inherits VK_DRIVER_FILES and renders on lavapipe.
  unshare --mount -- sh -c "mount --bind /sys '$PEERS/sys' && exec chroot '$PEERS' env $server \
      VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json XDG_RUNTIME_DIR=/tmp \
      timeout -k 10 '$timeout_s' qemu-system-x86_64 -accel "${VENUS_VM_ACCEL:-tcg}" -cpu max -smp '${VENUS_VM_CPUS:-1}' \
      -m '${VENUS_VM_MEMORY:-2G}' -machine q35 -nodefaults -vga none \
      -device '$device' -display egl-headless,rendernode=/dev/null \
      -kernel '$kdir/vmlinuz' -initrd '$initrd' \
      -append 'console=ttyS0 rdinit=/init panic=-1 loglevel=4 venus_vm=$scenario' \
      -serial stdio -monitor none -no-reboot" </dev/null >"$log" 2>&1 || rc=$?
  local took=$((SECONDS - t0))
  [ -f "$PEERS$hostlog" ] && cp "$PEERS$hostlog" "$out/$scenario.host.log"
  if grep -aq '^@@venus-vm done' "$log"; then
    echo "vm.sh: $scenario: the guest ran every step and powered off in $took s (qemu exit $rc)" >&2
    grep -aE '^@@venus-vm (end|scenario)' "$log" | sed 's/^@@venus-vm /    /' >&2
    echo "$log"
    return 0
  fi
  echo "vm.sh: $scenario: the guest did not finish its steps (qemu exit $rc after $took s)" >&2
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "vm.sh: the boot ran past VENUS_VM_TIMEOUT=$timeout_s s and was killed" >&2
  fi
  grep -a -m 3 -E 'Kernel panic|qemu-system-x86_64:|BUG:|Oops' "$log" >&2 || true
  echo "vm.sh: last lines of $log:" >&2
  tail -n 30 "$log" | sed 's/^/    /' >&2
  return 1
}

# One build or boot per checkout at a time (they share the staging root and the initramfs).
mkdir -p "$PEERS/var/tmp"
exec 8>"$PEERS$work.lock"
flock -w 1200 8 || die "timed out waiting for another eng/vm.sh of this checkout"

case "${1:-}" in
  build) build; echo "$PEERS$initrd" ;;
  run) shift; [ $# -gt 0 ] || set -- venus; run "$@" ;;
esac
