#!/usr/bin/env bash
# Builds our guest ICD (libvenus_icd.so, NativeAOT) and installs it with its manifest.
#
#   eng/icd.sh build            publish to artifacts/icd/ (libvenus_icd.so + venus_icd.json); prints the manifest path
#   eng/icd.sh install          build, then copy both into the peers chroot at /opt/venus-icd-<checkout hash>/;
#                               prints the manifest path as processes inside the chroot see it
#
# Use it like Mesa's venus: VK_DRIVER_FILES=<manifest> VN_DEBUG=vtest VTEST_SOCKET_NAME=<socket> app
# (VENUS_TRANSPORT=vtest works too; VENUS_DEBUG=init,result,wait for a log on stderr).
# The binary is built here (glibc 2.36) and runs in the trixie chroot (glibc 2.41).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "icd.sh: $*" >&2; exit 1; }
out="$root/artifacts/icd"

# One installed copy per checkout, so tests from another checkout never load (or replace) this one.
icd_dir() { echo "/opt/venus-icd-$(printf %s "$root" | md5sum | cut -c1-8)"; }

build() {
  bash "$root/eng/aot-publish.sh" "$root/src/Venus.GuestIcd" "$out" || die "could not build our ICD"
  [ -f "$out/libvenus_icd.so" ] || die "publish made no $out/libvenus_icd.so"
  cp "$root/icd-manifest/venus_icd.json" "$out/venus_icd.json"
}

case "${1:-}" in
  build)
    build
    echo "$out/venus_icd.json" ;;
  install)
    peers="$(bash "$root/eng/peers.sh" ensure)"
    build
    dir="$(icd_dir)"
    mkdir -p "$peers$dir"
    # Replace, not overwrite in place: a process that still has the old copy mapped keeps it.
    cp "$out/libvenus_icd.so" "$peers$dir/libvenus_icd.so.new" && mv -f "$peers$dir/libvenus_icd.so.new" "$peers$dir/libvenus_icd.so"
    cp "$out/venus_icd.json" "$peers$dir/venus_icd.json"
    echo "$dir/venus_icd.json" ;;
  *) die "usage: icd.sh build | install" ;;
esac
