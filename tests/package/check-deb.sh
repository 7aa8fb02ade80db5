#!/usr/bin/env bash
# Installs a .deb of eng/package.sh into a fresh Debian trixie (debootstrap --variant=minbase and
# nothing else, made once per machine in /var/cache/venus-deb-base, each check in a throwaway
# overlay over it) and checks it like a user would, with no VK_DRIVER_FILES:
#
#   tests/package/check-deb.sh DEB
#
# apt-get install of the .deb, which brings its declared dependencies (and what it recommends: the
# host's Vulkan driver) and nothing else but vulkan-tools for the check; venus-host started with the
# ExecStart line of the installed unit and the options of the installed /etc/default/venus-host
# (systemctl-less); vulkaninfo and venus doctor through the installed manifest; then dpkg -r
# removes every file but the conffile, and dpkg -P that too.
# Prints "ok ..." per check and the outputs; exits 1 at the first failed check ("FAIL ...").
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
fail() { echo "FAIL $*"; exit 1; }
ok() { echo "ok   $*"; }
deb="${1:-}"
[ -f "$deb" ] || fail "usage: check-deb.sh DEB (no file '$deb')"
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, overlay mount, chroot)"

base=/var/cache/venus-deb-base
(
  flock -w 900 9 || fail "timed out waiting for another check to make $base"
  [ -f "$base/.ready" ] && exit 0
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >&2 \
    || fail "could not install debootstrap"
  rm -rf "$base.partial"
  echo "check-deb.sh: debootstrap --variant=minbase trixie into $base (about a minute, once)" >&2
  debootstrap --variant=minbase trixie "$base.partial" >"$base.debootstrap.log" 2>&1 \
    || { tail -n 20 "$base.debootstrap.log"; rm -rf "$base.partial"; fail "debootstrap failed (log: $base.debootstrap.log)"; }
  rm -rf "$base" && mv "$base.partial" "$base" && touch "$base/.ready"
) 9>"$base.lock" || exit 1
tmp="$(mktemp -d /tmp/venus-deb-check.XXXXXX)"
top="$tmp/merged"
host_pid=
# Every process whose root is the overlay (the host, its workers): none may outlive the check.
kill_inside() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$top" ] && kill "$@" "${p#/proc/}" 2>/dev/null
  done
  return 0
}
cleanup() {
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null || true
  kill_inside; sleep 0.5; kill_inside -9
  for m in "$top/dev" "$top/proc" "$top"; do mountpoint -q "$m" && umount -l "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/upper" "$tmp/work" "$top"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$tmp/upper,workdir=$tmp/work" "$top" \
  || fail "could not mount an overlay over $base"
mount --bind /proc "$top/proc"
mount --bind /dev "$top/dev"
# A clean environment, as a login on that machine would have: no VK_DRIVER_FILES, no test paths.
in_root() { chroot "$top" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root XDG_RUNTIME_DIR=/tmp "$@"; }

[ ! -e "$top/usr/bin/venus-host" ] || fail "the chroot already has /usr/bin/venus-host"
[ ! -e "$top/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ] || fail "the fresh chroot already has libvulkan1"
cp "$deb" "$top/tmp/venus.deb"
cp -L /etc/resolv.conf "$top/etc/resolv.conf" 2>/dev/null || true
in_root apt-get update -qq >"$tmp/apt.log" 2>&1 || { tail -n 20 "$tmp/apt.log"; fail "apt-get update in the fresh chroot"; }
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/venus.deb vulkan-tools >>"$tmp/apt.log" 2>&1 \
  || { tail -n 30 "$tmp/apt.log"; fail "apt-get install $(basename "$deb") (with its declared dependencies)"; }
[ -e "$top/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ] || fail "installing the .deb did not bring libvulkan1"
ok "apt-get install $(basename "$deb") into a fresh trixie: $(in_root dpkg-query -W -f '${Version}' venus), libvulkan1 $(in_root dpkg-query -W -f '${Version}' libvulkan1) came with it"
files="$(in_root dpkg-query -L venus)"
manifest=/usr/share/vulkan/icd.d/venus_icd.x86_64.json
library="$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$top$manifest")"
case "$library" in /*) ;; *) fail "$manifest: library_path '$library' is not absolute" ;; esac
[ -f "$top$library" ] || fail "$manifest names $library, which is not installed"
ok "manifest $manifest -> $library"
# What the binaries link against is there (libc6, declared; libvulkan1 is opened at run time).
if in_root ldd /usr/bin/venus /usr/bin/venus-host "$library" | grep "not found"; then
  fail "a library the binaries need is missing"
fi
ok "every library the binaries link against is present"
for page in venus venus-host; do
  zcat "$top/usr/share/man/man1/$page.1.gz" | grep -q -- "--version" || fail "man page $page.1 lacks the --help text"
done
ok "man pages venus.1 venus-host.1"
in_root venus --version || fail "venus --version"

# The service's own command line and options, with the socket moved to a path of this check.
unit="$top/usr/lib/systemd/system/venus-host.service"
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
[ -n "$exec_start" ] || fail "no ExecStart in $unit"
envfile="$(sed -n 's/^EnvironmentFile=-\?//p' "$unit")"
[ -f "$top$envfile" ] || fail "the unit's EnvironmentFile $envfile is not installed"
sock="/tmp/venus-deb-$$.sock"
sed -i "s|^VENUS_HOST_SOCKET=.*|VENUS_HOST_SOCKET=$sock|" "$top$envfile"
# systemd's \${NAME} is one argument even when empty: the same as the shell's "\${NAME}".
shell_line="$(printf '%s' "$exec_start" | sed 's/\${\([A-Z_]*\)}/"${\1}"/g')"
echo "ExecStart: $exec_start"
# Not through in_root: a backgrounded function is a subshell, and killing it would leave the host
# (and its worker) running after the check. chroot, env and sh exec into venus-host: one pid.
chroot "$top" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root XDG_RUNTIME_DIR=/tmp \
  sh -c "set -a; . $envfile; set +a; exec $shell_line" >"$tmp/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 1 100); do
  [ -S "$top$sock" ] && break
  kill -0 "$host_pid" 2>/dev/null || { cat "$tmp/host.log"; fail "venus-host exited"; }
  sleep 0.1
done
[ -S "$top$sock" ] || { cat "$tmp/host.log"; fail "venus-host made no socket $sock in 10 s"; }
ok "venus-host started from the unit's ExecStart"

app_env=(VENUS_TRANSPORT=vtest VTEST_SOCKET_NAME="$sock")
in_root "${app_env[@]}" vulkaninfo --summary >"$tmp/vulkaninfo.txt" 2>"$tmp/vulkaninfo.err" \
  || { cat "$tmp/vulkaninfo.txt" "$tmp/vulkaninfo.err"; fail "vulkaninfo --summary"; }
cat "$tmp/vulkaninfo.txt"
grep -q "deviceName *= Virtio-GPU Venus.NET" "$tmp/vulkaninfo.txt" || fail "vulkaninfo lists no Venus.NET device"
ok "vulkaninfo lists our device through the installed manifest"
in_root "${app_env[@]}" venus doctor || fail "venus doctor (exit $?)"
ok "venus doctor exits 0"

kill "$host_pid"; wait "$host_pid" 2>/dev/null || true; host_pid=
kill_inside; sleep 0.5; kill_inside -9
cat "$tmp/host.log"
in_root dpkg -r venus || fail "dpkg -r venus"
left=()
while read -r path; do
  [ -z "$path" ] || [ -d "$top$path" ] && continue
  [ "$path" = "$envfile" ] && continue
  [ -e "$top$path" ] && left+=("$path")
done <<<"$files"
[ ${#left[@]} -eq 0 ] || fail "dpkg -r left ${left[*]}"
[ ! -e "$top/usr/lib/x86_64-linux-gnu/venus" ] || fail "dpkg -r left /usr/lib/x86_64-linux-gnu/venus/"
[ -e "$top$envfile" ] || fail "dpkg -r removed the conffile $envfile"
ok "dpkg -r removed every file but the conffile $envfile"
in_root dpkg -P venus || fail "dpkg -P venus"
[ ! -e "$top$envfile" ] || fail "dpkg -P left $envfile"
ok "dpkg -P removed $envfile"
