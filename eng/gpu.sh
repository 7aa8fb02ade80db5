#!/usr/bin/env bash
# A bundle for a GPU machine that has no .NET, no network and no Vulkan loader (the `device` machines:
# Ubuntu 24.04, NVIDIA driver, see ../shared/docs/design.md), and the checks it runs there.
#
#   eng/gpu.sh bundle DIR    build into DIR (inside the checkout, git-ignored, e.g. .gpu):
#                              host/venus-host      venus-host, NativeAOT
#                              icd/                 our ICD and its manifest (eng/icd.sh build)
#                              trixie/              trixie's vulkaninfo, the test clients (transfer,
#                                                   compute, v14, rt where it exists) and
#                                                   bench/clients/icdbench with their shaders, Mesa's
#                                                   venus guest (libvulkan_virtio.so), their libraries
#                                                   and trixie's ld-linux (they run there as
#                                                   `ld-linux --library-path`)
#                              ggml.tar.xz          ggml's test-backend-ops (trixie-backports) with
#                                                   its libraries and backends, when the chroot has it
#                              debs/                the loader and glvnd packages the NVIDIA ICD needs
#                              run.sh               the checks below
#   DIR/run.sh [PART]...     on the GPU machine, from the checkout's root, with $OUT set: unpacks
#                            debs/ into /, starts venus-host on the NVIDIA driver and runs each PART
#                            (default: check) natively and through our ICD over vtest:
#                              check   full vulkaninfo (on NVIDIA its feature chain is the longest a
#                                      real app sends), transfer staging|import, the compute job,
#                                      v14 and rt (where built), with exit codes and wall times
#                              exts    full vulkaninfo natively and through our ICD with
#                                      VENUS_DEBUG=init: our reason for each extension left out
#                              bench   icdbench (BENCH_RUNS runs, default 3) natively, through our ICD
#                                      and through Mesa's guest, on a venus-host with worker processes
#                              mtbench bench/clients/mtbench (MT_RUNS runs, default 3; MT_ARGS, default
#                                      "--threads 1,2,4,8 --seconds 1"): units/s per thread count
#                                      natively, through our ICD (thread host; also with
#                                      VENUS_PERF=serial_calls, the call path before issue 12's thread
#                                      work; and on the worker-process host) and through Mesa's guest
#                                      (worker-process host)
#                              ggml    test-backend-ops -o OP for GGML_OPS (default MUL_MAT SOFT_MAX
#                                      ROPE RMS_NORM GET_ROWS CPY) and `perf -o MUL_MAT`
#                              ggml-perf `perf -o MUL_MAT` alone (GGML_PERF_PATTERN: a -p filter;
#                                      GGML_TIMEOUT: seconds per driver, default 590)
#                              ggml-all  the whole test-backend-ops suite (GGML_PARALLEL=1: native
#                                      and ours at the same time; GGML_ARGS: more test-backend-ops
#                                      arguments, e.g. "-j 6"; GGML_FILTER: one -o filter, e.g. '^MUL_M'
#                                      and '^[^M]|^M[^U]|^MU[^L]|^MUL[^_]|^MUL_[^M]|^MUL$' split the
#                                      suite in two; GGML_WHO=ours|native: one side only)
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

  echo "gpu.sh: trixie's vulkaninfo, the clients, icdbench and Mesa's guest with their libraries" >&2
  local build="/tmp/gpu-bundle-$$" c
  local clients=(transfer compute v14)
  [ -f "$root/tests/clients/rt.c" ] && clients+=(rt)
  mkdir -p "$P$build"
  cp "$root"/tests/clients/*.c "$root"/tests/clients/*.h "$root"/tests/clients/*.comp "$root"/tests/clients/*.rgen \
    "$root"/tests/clients/*.rmiss "$root"/tests/clients/*.rchit "$root"/bench/clients/icdbench.c "$root"/bench/clients/icdbench.comp "$root"/bench/clients/mtbench.c \
    "$P$build/" 2>/dev/null || true
  # A client's "/* link: ... */" line names the libraries it needs besides Vulkan; shaders are
  # compiled as the tests do (glslangValidator -V; Vulkan 1.2 SPIR-V for ray tracing).
  cat >"$P$build/build.sh" <<'BUILD'
set -e
for c in "$@"; do
  libs=$(sed -n 's,^/\* link: \(.*\) \*/$,\1,p' "$c.c")
  gcc -std=gnu11 -O2 -o "$c" "$c.c" -lvulkan -lm $libs
done
for sh in *.comp *.rgen *.rmiss *.rchit; do
  [ -f "$sh" ] || continue
  case "$sh" in rt*) env="--target-env vulkan1.2" ;; *) env="" ;; esac
  glslangValidator -V $env -o "$sh.spv" "$sh" >/dev/null
done
BUILD
  chroot "$P" sh -c "cd $build && sh build.sh ${clients[*]} icdbench mtbench" >"$dir/clients.log" 2>&1 \
    || { cat "$dir/clients.log" >&2; die "building the clients in the chroot failed"; }
  for c in "${clients[@]}" icdbench mtbench; do cp "$P$build/$c" "$dir/trixie/"; done
  cp "$P$build"/*.spv "$dir/trixie/"
  cp "$P/usr/bin/vulkaninfo" "$P/usr/lib/x86_64-linux-gnu/libvulkan_virtio.so" "$dir/trixie/"
  rm -rf "${P:?}$build"
  local lib
  for lib in $(chroot "$P" sh -c 'ldd /usr/bin/vulkaninfo; ldd /usr/lib/x86_64-linux-gnu/libvulkan.so.1; ldd /usr/lib/x86_64-linux-gnu/libvulkan_virtio.so' | awk '/=> \//{print $3}' | sort -u); do
    cp -L "$P$lib" "$dir/trixie/"
  done
  cp -L "$P/usr/lib/x86_64-linux-gnu/libvulkan.so.1" "$P/lib64/ld-linux-x86-64.so.2" "$dir/trixie/"

  local ggml=/usr/libexec/x86_64-linux-gnu/ggml/1/test-backend-ops
  if [ -x "$P$ggml" ]; then
    echo "gpu.sh: ggml's test-backend-ops with its libraries and backends (ggml.tar.xz)" >&2
    local g="$dir/ggml"; rm -rf "$g"; mkdir -p "$g"
    cp "$P$ggml" "$g/"
    for lib in $(chroot "$P" ldd "$ggml" | awk '/=> \//{print $3}' | sort -u); do cp -L "$P$lib" "$g/"; done
    # ggml looks for its backends beside the executable, which under ld-linux is ld-linux's folder.
    cp "$P"/usr/lib/x86_64-linux-gnu/ggml/backends1/*.so "$g/"
    cp -L "$P/lib64/ld-linux-x86-64.so.2" "$g/"
    tar -C "$dir" -cJf "$dir/ggml.tar.xz" ggml && rm -rf "$g"
  else
    echo "gpu.sh: no ggml in the chroot (bash eng/apps.sh ggml installs it): the ggml parts will say so" >&2
  fi

  echo "gpu.sh: loader packages (apt-get download)" >&2
  (cd "$dir/debs" && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null) \
    || die "apt-get download of the loader packages failed (run apt-get update first)"

  cp "$root/eng/gpu.sh" "$dir/gpu.sh"
  printf '#!/usr/bin/env bash\nexec bash "$(dirname "$0")/gpu.sh" check "$(dirname "$0")" "$@"\n' >"$dir/run.sh"
  chmod +x "$dir/run.sh"
  du -sh "$dir" >&2
  echo "$dir/run.sh"
}

check() {
  local dir; dir="$(cd "${1:?}" && pwd)"; shift
  [ $# -gt 0 ] || set -- check
  local out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
  for f in "$dir"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
  nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json T="$dir/trixie"
  [ -f "$nv" ] || die "no NVIDIA ICD manifest at $nv"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
  # Mesa's guest: its manifest, pointing at the bundled library.
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.4.309"}}\n' "$T/libvulkan_virtio.so" >"$T/virtio_icd.json"
  sock=/tmp/venus-gpu.sock wsock=/tmp/venus-gpu-workers.sock
  rm -f "$sock" "$wsock"
  "$dir/host/venus-host" serve --socket-path "$sock" --isolation thread --driver "$nv" >"$out/venus-host.log" 2>&1 &
  local hp=$!
  "$dir/host/venus-host" serve --socket-path "$wsock" --driver "$nv" >"$out/venus-host-workers.log" 2>&1 &
  local wp=$!
  for _ in $(seq 1 100); do [ -S "$sock" ] && [ -S "$wsock" ] && break; sleep 0.1; done
  [ -S "$sock" ] && [ -S "$wsock" ] || { cat "$out"/venus-host*.log; die "venus-host did not start"; }
  local part
  for part in "$@"; do
    case "$part" in
      check) part_check ;;
      bench) part_bench ;;
      mtbench) part_mtbench ;;
      exts) part_exts ;;
      ggml) part_ggml ;;
      ggml-all) part_ggml_all ;;
      ggml-perf) part_ggml_perf ;;
      *) echo "gpu.sh: unknown part '$part' (check, exts, bench, mtbench, ggml, ggml-perf, ggml-all)" >&2 ;;
    esac
  done
  kill "$hp" "$wp" 2>/dev/null; wait "$hp" "$wp" 2>/dev/null || true
  echo "== venus-host logs (errors)"; grep -ihE "error|fatal" "$out"/venus-host*.log | head -5 || true
}

# env for HOW (native, ours, ours-workers, ours-serial, mesa) into the array E.
how_env() {
  E=(env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp)
  case "$1" in
    native) E+=(VK_DRIVER_FILES="$nv") ;;
    ours) E+=(VK_DRIVER_FILES="$dir/icd/venus_icd.json" VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock") ;;
    ours-workers) E+=(VK_DRIVER_FILES="$dir/icd/venus_icd.json" VN_DEBUG=vtest VTEST_SOCKET_NAME="$wsock") ;;
    ours-serial) E+=(VK_DRIVER_FILES="$dir/icd/venus_icd.json" VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VENUS_PERF=serial_calls) ;;
    mesa) E+=(VK_DRIVER_FILES="$T/virtio_icd.json" VN_DEBUG=vtest VTEST_SOCKET_NAME="$wsock") ;;
  esac
}

# One program natively (NVIDIA's ICD) and through our ICD on venus-host; prints its exit code and wall time.
run_both() {
  local name="$1"; shift
  local how
  for how in native ours; do
    how_env "$how"
    local t0 t1 rc=0
    t0=$(date +%s%N)
    "${E[@]}" timeout 300 "$T/ld-linux-x86-64.so.2" --library-path "$T:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64" "$@" \
      >"$out/$name-$how.txt" 2>"$out/$name-$how.err" || rc=$?
    t1=$(date +%s%N)
    echo "== $name, $how: exit $rc, $(( (t1 - t0) / 1000000 )) ms"
    grep -m6 -E "deviceName|apiVersion|^Device Extensions|ok|failed|lacks|hash|checksum|sizes" "$out/$name-$how.txt" || true
    tail -n 2 "$out/$name-$how.err"
  done
}

part_check() {
  run_both vulkaninfo "$T/vulkaninfo"
  run_both transfer-staging "$T/transfer" staging 1920 1080 4
  run_both transfer-import "$T/transfer" import 1920 1080 4
  run_both compute "$T/compute" "$T/compute.comp.spv" 1048576 120
  [ -x "$T/v14" ] && run_both v14 "$T/v14" "$T/compute.comp.spv"
  [ -x "$T/rt" ] && run_both rt "$T/rt" "$T/rt_query.comp.spv" "$T/rt.rgen.spv" "$T/rt.rmiss.spv" "$T/rt.rchit.spv"
  return 0
}

# Our ICD's reasons for each native extension it leaves out (VENUS_DEBUG=init), beside both drivers'
# full vulkaninfo: $OUT/exts-ours.err, vulkaninfo-native.txt, vulkaninfo-ours.txt.
part_exts() {
  local how rc
  for how in native ours; do
    how_env "$how"; rc=0
    "${E[@]}" VENUS_DEBUG=init timeout 300 "$T/ld-linux-x86-64.so.2" --library-path "$T:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64" \
      "$T/vulkaninfo" >"$out/vulkaninfo-$how.txt" 2>"$out/exts-$how.err" || rc=$?
    echo "== exts, $how: exit $rc, $(grep -m1 -E '^Device Extensions' "$out/vulkaninfo-$how.txt")"
  done
  echo "== left out, with reasons: $(grep -c -i 'left out' "$out/exts-ours.err") lines in exts-ours.err"
}

part_bench() {
  local runs="${BENCH_RUNS:-3}" i how
  for i in $(seq 1 "$runs"); do
    for how in native ours ours-workers mesa; do
      how_env "$how"
      "${E[@]}" timeout 300 "$T/ld-linux-x86-64.so.2" --library-path "$T:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64" \
        "$T/icdbench" "$T/icdbench.comp.spv" >"$out/icdbench-$how.$i.txt" 2>&1 || echo "== icdbench $how run $i: exit $?"
    done
  done
  # Medians per metric and path.
  echo "== icdbench, median of $runs (native / ours thread / ours workers / Mesa's guest workers)"
  local m
  for m in $(grep -h '^metric ' "$out"/icdbench-native.*.txt | awk '{print $2}' | sort -u); do
    local row="$m"
    for how in native ours ours-workers mesa; do
      row="$row $(grep -h "^metric $m " "$out"/icdbench-$how.*.txt 2>/dev/null | awk '{print $3}' | sort -g | awk '{v[NR]=$1} END {print NR ? v[int((NR+1)/2)] : "-"}')"
    done
    echo "$row"
  done
}

# mtbench natively, through our ICD (thread host, with and without serial_calls; worker host) and
# through Mesa's guest (worker host), MT_RUNS times round-robin; medians per metric and path.
part_mtbench() {
  local runs="${MT_RUNS:-3}" i how hows=(native ours ours-serial ours-workers mesa)
  [ -x "$T/mtbench" ] || { echo "== mtbench: not in this bundle"; return 0; }
  for i in $(seq 1 "$runs"); do
    for how in "${hows[@]}"; do
      how_env "$how"
      # shellcheck disable=SC2086 # MT_ARGS is a list of arguments
      "${E[@]}" timeout 300 "$T/ld-linux-x86-64.so.2" --library-path "$T:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64" \
        "$T/mtbench" "$T/icdbench.comp.spv" ${MT_ARGS:---threads 1,2,4,8 --seconds 1} >"$out/mtbench-$how.$i.txt" 2>&1 \
        || echo "== mtbench $how run $i: exit $?, $(grep '^mtbench: ' "$out/mtbench-$how.$i.txt" | tail -n 1)"
    done
  done
  echo "== mtbench, median of $runs (native / ours thread / ours serial_calls / ours workers / Mesa's guest workers)"
  local m
  for m in $(grep -h '^metric ' "$out"/mtbench-native.*.txt | awk '{print $2}' | awk '!seen[$0]++'); do
    local row="$m"
    for how in "${hows[@]}"; do
      row="$row $(grep -h "^metric $m " "$out"/mtbench-$how.*.txt 2>/dev/null | awk '{print $3}' | sort -g | awk '{v[NR]=$1} END {print NR ? v[int((NR+1)/2)] : "-"}')"
    done
    echo "$row"
  done
}

ggml_unpack() {
  [ -f "$dir/ggml.tar.xz" ] || { echo "== ggml: not in this bundle"; return 1; }
  G=/tmp/venus-ggml; rm -rf "$G"; mkdir -p "$G"; tar -C "$G" -xJf "$dir/ggml.tar.xz"; G="$G/ggml"
}

# test-backend-ops ARGS natively and through our ICD; pass counts and wall times. With GGML_PARALLEL=1
# both run at the same time (the whole suite of each takes most of a device call; wall times then
# include each other's load).
ggml_one() {
  local name="$1" how="$2"; shift 2
  how_env "$how"
  local t0 t1 rc=0
  t0=$(date +%s%N)
  "${E[@]}" GGML_VK_VISIBLE_DEVICES=0 timeout "${GGML_TIMEOUT:-590}" "$G/ld-linux-x86-64.so.2" --library-path "$G:$T:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64" \
    "$G/test-backend-ops" "$@" -b Vulkan0 >"$out/ggml-$name-$how.txt" 2>&1 || rc=$?
  t1=$(date +%s%N)
  echo "== ggml $name, $how: exit $rc, $(( (t1 - t0) / 1000000 )) ms, $(grep -c 'OK' "$out/ggml-$name-$how.txt") OK, $(grep -c 'FAIL' "$out/ggml-$name-$how.txt") FAIL; $(grep -m1 -E 'tests passed' "$out/ggml-$name-$how.txt")" >"$out/ggml-$name-$how.summary"
  grep -m1 -E "ggml_vulkan: 0 =" "$out/ggml-$name-$how.txt" >>"$out/ggml-$name-$how.summary" || true
}
ggml_both() {
  local name="$1"; shift
  # GGML_WHO=ours or native: only that side (e.g. to re-run ours where native's figures are known).
  case "${GGML_WHO:-both}" in
    ours|native) ggml_one "$name" "$GGML_WHO" "$@"; cat "$out/ggml-$name-$GGML_WHO.summary"; return ;;
  esac
  if [ "${GGML_PARALLEL:-0}" = 1 ]; then
    ggml_one "$name" native "$@" & local a=$!
    ggml_one "$name" ours "$@" & local b=$!
    wait "$a" "$b" || true
  else
    ggml_one "$name" native "$@"
    ggml_one "$name" ours "$@"
  fi
  cat "$out/ggml-$name-native.summary" "$out/ggml-$name-ours.summary"
}

part_ggml() {
  ggml_unpack || return 0
  local op
  for op in ${GGML_OPS:-MUL_MAT SOFT_MAX ROPE RMS_NORM GET_ROWS CPY}; do ggml_both "$op" test -o "$op"; done
  ggml_both perf-MUL_MAT perf -o MUL_MAT
  echo "== perf MUL_MAT (native, then ours)"
  grep -E "MUL_MAT.*(GFLOPS|us/run)" "$out/ggml-perf-MUL_MAT-native.txt" | head -8
  grep -E "MUL_MAT.*(GFLOPS|us/run)" "$out/ggml-perf-MUL_MAT-ours.txt" | head -8
}

# `perf -o MUL_MAT` alone, limited to the cases GGML_PERF_PATTERN matches (test-backend-ops -p).
part_ggml_perf() {
  ggml_unpack || return 0
  ggml_both perf-MUL_MAT perf -o MUL_MAT ${GGML_PERF_PATTERN:+-p "$GGML_PERF_PATTERN"}
  echo "== perf MUL_MAT (native, then ours)"
  grep -E "MUL_MAT.*(GFLOPS|us/run)" "$out/ggml-perf-MUL_MAT-native.txt" | head -12
  grep -E "MUL_MAT.*(GFLOPS|us/run)" "$out/ggml-perf-MUL_MAT-ours.txt" | head -12
}

part_ggml_all() {
  ggml_unpack || return 0
  # GGML_FILTER: one -o argument, quoted (regexes with [ ] and | survive), to split the suite over calls.
  ggml_both all test ${GGML_FILTER:+-o "$GGML_FILTER"} ${GGML_ARGS:-}
}

case "${1:-}" in
  bundle) shift; bundle "$@" ;;
  check) shift; check "$@" ;;
  *) die "usage: gpu.sh bundle DIR | check DIR [check|exts|bench|mtbench|ggml|ggml-perf|ggml-all]..." ;;
esac
