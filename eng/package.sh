#!/usr/bin/env bash
# Builds the Debian package of this checkout with dpkg-deb: NativeAOT binaries, so no .NET runtime is
# needed where it is installed.
#
#   eng/package.sh [OUT_DIR]     build artifacts/deb/venus_<version>_amd64.deb (or in OUT_DIR);
#                                prints the .deb's path
#
# What it installs:
#   /usr/lib/x86_64-linux-gnu/venus/libvenus_icd.so        our guest ICD
#   /usr/share/vulkan/icd.d/venus_icd.x86_64.json          its manifest (absolute library path)
#   /usr/bin/venus, /usr/bin/venus-host                    the command line and the host renderer
#   /usr/lib/systemd/system/venus-host.service             venus-host as a service (eng/deb/)
#   /etc/default/venus-host                                its options: socket, driver, isolation
#   /usr/share/man/man1/venus.1.gz, venus-host.1.gz        made from `--help` of each program
# The version is the one `venus --version` prints (Directory.Build.props).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "package.sh: $*" >&2; exit 1; }
[ $# -le 1 ] || die "usage: package.sh [OUT_DIR]"
out="${1:-$root/artifacts/deb}"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"
mkdir -p "$out" || die "cannot create $out"
out="$(cd "$out" && pwd)"

bash "$root/eng/icd.sh" build >/dev/null || die "could not build the ICD"
cli="$(bash "$root/eng/cli.sh" build)" || die "could not build venus"
hostdir="$root/artifacts/host"
bash "$root/eng/aot-publish.sh" "$root/src/Venus.HostRenderer" "$hostdir" || die "could not build venus-host"
[ -x "$hostdir/venus-host" ] || die "publish made no $hostdir/venus-host"

version="$("$cli" --version | sed -n '1s/^venus \([0-9][0-9A-Za-z.+~-]*\)$/\1/p')"
[ -n "$version" ] || die "could not read the version from '$cli --version'"

libdir=usr/lib/x86_64-linux-gnu/venus
stage="$out/stage"
rm -rf "$stage"
install -D -m 0644 "$root/artifacts/icd/libvenus_icd.so" "$stage/$libdir/libvenus_icd.so"
install -D -m 0755 "$cli" "$stage/usr/bin/venus"
install -D -m 0755 "$hostdir/venus-host" "$stage/usr/bin/venus-host"
install -D -m 0644 "$root/eng/deb/venus-host.service" "$stage/usr/lib/systemd/system/venus-host.service"
install -D -m 0644 "$root/eng/deb/venus-host.default" "$stage/etc/default/venus-host"

# The manifest of the repo, with the library where the package puts it.
mkdir -p "$stage/usr/share/vulkan/icd.d"
manifest="$stage/usr/share/vulkan/icd.d/venus_icd.x86_64.json"
sed "s|\"library_path\": *\"[^\"]*\"|\"library_path\": \"/$libdir/libvenus_icd.so\"|" \
  "$root/icd-manifest/venus_icd.json" >"$manifest"
grep -q "\"/$libdir/libvenus_icd.so\"" "$manifest" || die "no library_path to rewrite in icd-manifest/venus_icd.json"
chmod 0644 "$manifest"

# man_page NAME SUMMARY: a man page whose text is NAME --help (one source for both), as roff.
man_page() {
  local name="$1" summary="$2" exe="$stage/usr/bin/$1" page="$stage/usr/share/man/man1/$1.1"
  mkdir -p "$(dirname "$page")"
  local help; help="$("$exe" --help)" || die "$name --help failed"
  [ -n "$help" ] || die "$name --help printed nothing"
  {
    printf '.TH %s 1 "" "venus %s" "Venus"\n.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' \
      "$(echo "$name" | tr a-z A-Z)" "$version" "$name" "$summary"
    # Backslashes, and lines that roff would read as requests, are escaped.
    printf '%s\n' "$help" | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    printf '.fi\n.SH VERSION\n.nf\n'
    "$exe" --version | sed -e 's/\\/\\e/g'
    printf '.fi\n'
  } >"$page"
  gzip -9n "$page"
}
man_page venus "Venus command line: probe a host, doctor, dump and replay recordings"
man_page venus-host "Venus host renderer: runs Venus guests' Vulkan calls on this machine's driver"

mkdir -p "$stage/DEBIAN"
install -m 0755 "$root/eng/deb/postinst" "$root/eng/deb/prerm" "$root/eng/deb/postrm" "$stage/DEBIAN/"
echo /etc/default/venus-host >"$stage/DEBIAN/conffiles"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: venus
Version: $version
Architecture: amd64
Maintainer: Venus.NET developers <venus@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: libc6 (>= 2.36), libvulkan1
Recommends: mesa-vulkan-drivers, libshaderc1
Section: graphics
Priority: optional
Description: Venus (Vulkan over virtio-gpu) guest driver and host renderer
 A Vulkan ICD that sends an application's Vulkan calls to a Venus host
 (over virtio-gpu or a vtest socket), venus-host, which runs them on this
 machine's Vulkan driver (a vtest server, or virglrenderer's render server
 for QEMU), and the venus command line (doctor, probe, dump, replay).
 Built with NativeAOT: no .NET runtime needed.
CONTROL

deb="$out/venus_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null || die "dpkg-deb failed"
rm -rf "$stage"
echo "$deb"
