#!/usr/bin/env bash
# A bundle for a GPU machine that has no .NET, no network and no Vulkan loader (the `device` machines:
# Ubuntu 24.04, NVIDIA driver, see ../shared/docs/design.md), and the checks it runs there.
#
#   eng/gpu.sh bundle DIR    build into DIR (inside the checkout, git-ignored, e.g. .gpu):
#                              host/venus-host      venus-host, NativeAOT
#                              icd/                 our ICD and its manifest (eng/icd.sh build)
#                              trixie/              trixie's vulkaninfo, tests/clients/transfer, their
#                                                   libraries and trixie's ld-linux (they run there as
#                                                   `ld-linux --library-path`)
#                              debs/                the loader and glvnd packages the NVIDIA ICD needs
#                              run.sh               the checks below
#   DIR/run.sh               on the GPU machine, from the checkout's root, with $OUT set: unpacks
#                            debs/ into /, starts venus-host on the NVIDIA driver and runs, through
#                            our ICD over vtest: full vulkaninfo (on NVIDIA its feature chain is the
#                            longest a real app sends) and transfer staging|import; natively the same.
#                            Logs and outputs go to $OUT.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "gpu.sh: $*" >&2; exit 1; }

bundle() {
  local dir="${1:?usage: gpu.sh bundle DIR}"
  case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac
  mkdir -p "$dir"/{host,icd,trixie,debs}
  local P; P="$(bash "$root/eng/peers.sh" ensure)"

  echo "gpu.sh: venus-host (NativeAOT publish)" >&2
  dotnet publish "$root/src/Venus.HostRenderer" -c Release -r linux-x64 -p:PublishAot=true -o "$dir/host" --nologo \
    >"$dir/host.publish.log" 2>&1 || { tail -n 20 "$dir/host.publish.log" >&2; die "NativeAOT publish of venus-host failed"; }
  rm -f "$dir"/host/*.dbg "$dir"/host/*.pdb

  echo "gpu.sh: our ICD (eng/icd.sh build)" >&2
  local manifest; manifest="$(bash "$root/eng/icd.sh" build | tail -n 1)"
  cp "$(dirname "$manifest")/libvenus_icd.so" "$manifest" "$dir/icd/"

  echo "gpu.sh: trixie's vulkaninfo and the test clients with their libraries" >&2
  local build="/tmp/gpu-bundle-$$"
  mkdir -p "$P$build"
  cp "$root"/tests/clients/*.c "$root"/tests/clients/*.h "$P$build/"
  chroot "$P" sh -c "cd $build && gcc -std=c11 -O2 -o transfer transfer.c -lvulkan" \
    || die "building the clients in the chroot failed"
  cp "$P$build/transfer" "$P/usr/bin/vulkaninfo" "$dir/trixie/"
  rm -rf "${P:?}$build"
  local lib
  for lib in $(chroot "$P" sh -c 'ldd /usr/bin/vulkaninfo; ldd /usr/lib/x86_64-linux-gnu/libvulkan.so.1' | awk '/=> \//{print $3}' | sort -u); do
    cp -L "$P$lib" "$dir/trixie/"
  done
  cp -L "$P/usr/lib/x86_64-linux-gnu/libvulkan.so.1" "$P/lib64/ld-linux-x86-64.so.2" "$dir/trixie/"

  echo "gpu.sh: loader packages (apt-get download)" >&2
  (cd "$dir/debs" && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null) \
    || die "apt-get download of the loader packages failed (run apt-get update first)"

  cp "$root/eng/gpu.sh" "$dir/gpu.sh"
  printf '#!/usr/bin/env bash\nexec bash "$(dirname "$0")/gpu.sh" check "$(dirname "$0")"\n' >"$dir/run.sh"
  chmod +x "$dir/run.sh"
  du -sh "$dir" >&2
  echo "$dir/run.sh"
}

check() {
  local dir; dir="$(cd "${1:?}" && pwd)"
  local out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
  for f in "$dir"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
  local nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json T="$dir/trixie"
  [ -f "$nv" ] || die "no NVIDIA ICD manifest at $nv"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
  local sock=/tmp/venus-gpu.sock; rm -f "$sock"
  "$dir/host/venus-host" serve --socket-path "$sock" --isolation thread --driver "$nv" >"$out/venus-host.log" 2>&1 &
  local hp=$!
  for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { cat "$out/venus-host.log"; die "venus-host did not start"; }

  # One program natively (NVIDIA's ICD) and through our ICD on venus-host; prints its exit code and wall time.
  run() {
    local name="$1"; shift
    local how
    for how in native ours; do
      local env=(env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp)
      if [ "$how" = native ]; then env+=(VK_DRIVER_FILES="$nv")
      else env+=(VK_DRIVER_FILES="$dir/icd/venus_icd.json" VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock"); fi
      local t0 t1 rc=0
      t0=$(date +%s%N)
      "${env[@]}" "$T/ld-linux-x86-64.so.2" --library-path "$T:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64" "$@" \
        >"$out/$name-$how.txt" 2>"$out/$name-$how.err" || rc=$?
      t1=$(date +%s%N)
      echo "== $name, $how: exit $rc, $(( (t1 - t0) / 1000000 )) ms"
      grep -m4 -E "deviceName|apiVersion|^Device Extensions|all ok|failed|lacks" "$out/$name-$how.txt" || true
      tail -n 2 "$out/$name-$how.err"
    done
  }
  run vulkaninfo "$T/vulkaninfo"
  run transfer-staging "$T/transfer" staging 1920 1080 4
  run transfer-import "$T/transfer" import 1920 1080 4
  kill "$hp" 2>/dev/null; wait "$hp" 2>/dev/null || true
  echo "== venus-host log (errors)"; grep -iE "error|fatal" "$out/venus-host.log" | head -5 || true
}

case "${1:-}" in
  bundle) shift; bundle "$@" ;;
  check) shift; check "$@" ;;
  *) die "usage: gpu.sh bundle DIR | check DIR" ;;
esac
