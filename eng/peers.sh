#!/usr/bin/env bash
# Builds (once) and caches the Debian trixie chroot that holds the real Venus peers:
# Mesa 25.0.7's venus guest ICD, virglrenderer 1.1.0's virgl_test_server, lavapipe,
# vulkaninfo/vkcube/vkmark, vk.xml 1.4.309 and the Khronos validation layer (see ../shared/docs/peers.md).
#
#   eng/peers.sh ensure        build the chroot if missing, mount /proc and /dev, print its path
#   eng/peers.sh path          print the chroot path (no side effects)
#   eng/peers.sh install PKG:PATH...  ensure, then apt-get install each PKG whose PATH (inside the
#                              chroot) is missing (what eng/vm.sh adds: QEMU, busybox, ...); a PKG
#                              written NAME/SUITE (e.g. libggml1-backend-vulkan/trixie-backports)
#                              comes from that suite of the chroot's own archive
#   eng/peers.sh dotnet        copy this machine's .NET runtime into the chroot (/opt/dotnet) if missing
#   eng/peers.sh serve SOCKET  start virgl_test_server --venus on lavapipe; SOCKET is a path
#                              inside the chroot (e.g. /tmp/venus.sock); prints the server pid
#
# VENUS_PEERS overrides the location (default /var/cache/venus-peers).
set -euo pipefail

PEERS="${VENUS_PEERS:-/var/cache/venus-peers}"
PKGS=mesa-vulkan-drivers,virgl-server,vulkan-tools,vkmark,libvulkan-dev,xvfb,xauth,libegl-mesa0,libgl1-mesa-dri,libegl1,gcc,libc6-dev,glslang-tools,vulkan-validationlayers

die() { echo "peers.sh: $*" >&2; exit 1; }

ensure_mounts() {
  mountpoint -q "$PEERS/proc" || mount --bind /proc "$PEERS/proc"
  mountpoint -q "$PEERS/dev" || mount --bind /dev "$PEERS/dev"
}

# Packages added to PKGS after a chroot was built: install them into the existing chroot with its own
# apt (it knows its source). One check file per package; a lock keeps parallel callers from racing apt.
LATE_PKGS=("vulkan-validationlayers:usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json"
  # X11 apps and screenshots under Xvfb (tests/Venus.TestSupport/Xvfb.cs), the xcb headers for
  # tests/clients, and the GL apps for Zink. (convert itself is an absolute alternatives link.)
  "x11-apps:usr/bin/xwd" "imagemagick:usr/bin/convert-im7.q16" "libxcb1-dev:usr/include/xcb/xcb.h"
  "mesa-utils:usr/bin/glxgears" "glmark2-x11:usr/bin/glmark2"
  # SPIRV-Tools' validator for guest SPIR-V (src/Venus.HostRenderer/Native/SpirvTools.cs): Debian's
  # spirv-tools ships static libraries only; libshaderc.so.1 exports the same C API.
  "libshaderc1:usr/lib/x86_64-linux-gnu/libshaderc.so.1")

# add_suite SUITE: a sources entry for SUITE (e.g. trixie-backports) made from the chroot's own
# "deb ... trixie ..." line, so the archive is the one debootstrap used and no address is written
# here; then apt-get update. Called under the chroot's lock.
add_suite() {
  local suite="$1" list="$PEERS/etc/apt/sources.list.d/$1.list"
  [ -s "$list" ] && return 0
  sed -n "s/^\(deb\(-src\)\? .*\) trixie\( .*\)\?$/\1 $suite\3/p" "$PEERS/etc/apt/sources.list" >"$list.new"
  [ -s "$list.new" ] || { rm -f "$list.new"; echo "no 'deb ... trixie ...' line in $PEERS/etc/apt/sources.list to make a $suite entry from" >&2; return 1; }
  mv "$list.new" "$list"
  chroot "$PEERS" apt-get update -qq || { rm -f "$list"; return 1; }
}

# install_packages PKG:PATH...: apt-get installs each PKG whose PATH (relative to the chroot) is
# missing, under the chroot's lock; fails if a PATH is still missing afterwards.
install_packages() {
  local missing=() entry
  for entry in "$@"; do
    [ -e "$PEERS/${entry#*:}" ] || missing+=("${entry%%:*}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  (
    flock -w 600 9 || die "timed out waiting for another install into $PEERS"
    local still=() entry
    for entry in "$@"; do
      [ -e "$PEERS/${entry#*:}" ] || still+=("${entry%%:*}")
    done
    [ ${#still[@]} -eq 0 ] && exit 0
    echo "peers.sh: installing ${still[*]} into $PEERS" >&2
    for entry in "${still[@]}"; do
      case "$entry" in
        */*) add_suite "${entry#*/}" >>"$PEERS.apt.log" 2>&1 \
               || { tail -n 30 "$PEERS.apt.log" >&2; die "could not add the ${entry#*/} suite to $PEERS (log: $PEERS.apt.log)"; } ;;
      esac
    done
    { chroot "$PEERS" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${still[@]}" \
        || { chroot "$PEERS" apt-get update -qq \
             && chroot "$PEERS" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${still[@]}"; }
    } >"$PEERS.apt.log" 2>&1 || { tail -n 30 "$PEERS.apt.log" >&2; die "apt-get install ${still[*]} in $PEERS failed (log: $PEERS.apt.log)"; }
  ) 9>"$PEERS.lock" || exit 1
  for entry in "$@"; do
    [ -e "$PEERS/${entry#*:}" ] || die "installed ${entry%%:*} but $PEERS/${entry#*:} is still missing"
  done
}

ensure() {
  [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mounts need it)"
  if [ ! -f "$PEERS/.venus-peers-ready" ]; then
    mkdir -p "$(dirname "$PEERS")"
    # One build at a time: parallel callers (test projects, several checkouts) wait for it, then
    # find the chroot ready. Each build writes its own partial folder.
    exec 8>"$PEERS.build.lock"
    flock -w 900 8 || die "timed out waiting for another build of $PEERS"
    if [ ! -f "$PEERS/.venus-peers-ready" ]; then
      command -v debootstrap >/dev/null || {
        echo "peers.sh: installing debootstrap" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
      } || die "could not install debootstrap"
      local partial="$PEERS.partial.$$"
      rm -rf "$partial"
      echo "peers.sh: debootstrap trixie into $PEERS (takes about a minute)" >&2
      debootstrap --variant=minbase --include="$PKGS" trixie "$partial" >"$PEERS.debootstrap.log" 2>&1 \
        || { tail -n 30 "$PEERS.debootstrap.log" >&2; rm -rf "$partial"; die "debootstrap failed (log: $PEERS.debootstrap.log)"; }
      rm -rf "$PEERS" && mv "$partial" "$PEERS"
      touch "$PEERS/.venus-peers-ready"
    fi
    exec 8>&-
  fi
  ensure_mounts
  install_packages "${LATE_PKGS[@]}"
  for f in usr/bin/virgl_test_server usr/bin/vulkaninfo usr/share/vulkan/registry/vk.xml \
           usr/share/vulkan/icd.d/lvp_icd.json usr/share/vulkan/icd.d/virtio_icd.json \
           usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json; do
    [ -e "$PEERS/$f" ] || die "chroot at $PEERS lacks /$f; remove it and run again"
  done
  echo "$PEERS"
}

# dotnet: the .NET runtime of this machine's SDK copied into the chroot at /opt/dotnet (once), for
# framework-dependent programs run there (a JIT venus-host, the .NET sample).
dotnet_runtime() {
  ensure >/dev/null
  local dotnet_root; dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  if [ ! -x "$PEERS/opt/dotnet/dotnet" ] || [ ! -d "$PEERS/opt/dotnet/shared/Microsoft.NETCore.App" ]; then
    mkdir -p "$PEERS/opt/dotnet/shared"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$PEERS/opt/dotnet/"
    cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$PEERS/opt/dotnet/shared/"
  fi
  echo /opt/dotnet/dotnet
}

serve() {
  local sock="${1:?usage: peers.sh serve SOCKET (a path inside the chroot, e.g. /tmp/venus.sock)}"
  ensure >/dev/null
  rm -f "$PEERS$sock"
  chroot "$PEERS" env VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json XDG_RUNTIME_DIR=/tmp \
    virgl_test_server --venus --no-virgl --multi-clients --socket-path "$sock" >"$PEERS$sock.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    [ -S "$PEERS$sock" ] && { echo "$pid"; return 0; }
    kill -0 "$pid" 2>/dev/null || { cat "$PEERS$sock.log" >&2; die "virgl_test_server exited"; }
    sleep 0.1
  done
  kill "$pid" 2>/dev/null; die "virgl_test_server did not create $PEERS$sock within 10 s"
}

case "${1:-}" in
  ensure) ensure ;;
  path) echo "$PEERS" ;;
  install) shift; [ $# -gt 0 ] || die "usage: peers.sh install PACKAGE:PATH..."; ensure >/dev/null; install_packages "$@" ;;
  serve) shift; serve "$@" ;;
  dotnet) dotnet_runtime ;;
  *) die "usage: peers.sh ensure | path | install PACKAGE:PATH... | dotnet | serve SOCKET" ;;
esac
