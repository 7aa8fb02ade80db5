#!/usr/bin/env bash
# Application-level benchmark of guest ICDs, all in one run on the chroot's lavapipe:
# our ICD (src/Venus.GuestIcd) and Mesa 25.0.7's venus guest, each against venus-host
# (--isolation thread) and against virglrenderer 1.1.0, plus native lavapipe. Each runs
# bench/clients/icdbench.c (record cost per vkCmd*, submit+wait, synchronous queries that are
# host round trips) RUNS times and full `vulkaninfo` BENCH_VULKANINFO_RUNS times; prints a
# Markdown table of medians (rows: metrics, columns: driver / host).
#
#   bash eng/bench-icd.sh [RUNS]                (default 5; or BENCH_RUNS)
#
# Environment:
#   BENCH_RUNS             icdbench runs per combination (default 5)
#   BENCH_VULKANINFO_RUNS  vulkaninfo runs per combination (default: RUNS)
#   BENCH_TIMEOUT          seconds one run may take before it counts as failed (default 60)
#   BENCH_ARGS             extra icdbench arguments (e.g. "--cmds 20000 --submits 500 --queries 500")
#   BENCH_COMBOS           comma-separated subset of: ours-host ours-workers ours-virgl ours-nofb-host
#                          ours-spin-host ours-prior-host ours-rings-host ours-serial-host mesa-host mesa-virgl
#                          mesa-nofb-host mesa-nofb-virgl native
#                          (default: all but ours-nofb-host, ours-spin-host, ours-prior-host, ours-rings-host,
#                          ours-serial-host)
#   BENCH_BASE             another checkout of this repository (e.g. `git worktree add /tmp/base <commit>`): its ICD
#                          on its own venus-host (--isolation thread) is the ours-base-host column ("ours before",
#                          in the same run); named in BENCH_COMBOS, or added to the default ones when set
#   BENCH_VERIFY=1         also count, on a recording venus-host, how many of icdbench's query calls
#                          reach the host (our ICD and Mesa's), to check they are round trips
#
# ours-workers is our ICD on a second venus-host in its default mode (a worker process per client,
# --isolation process), against the thread-mode host of the other -host columns.
# ours-prior-host is our ICD with VENUS_PERF=no_query_feedback (query results from the host, as before
# query feedback); ours-rings-host is our ICD with VENUS_PERF=thread_rings (every call with a reply on a call
# ring of its own); ours-serial-host is our ICD with VENUS_PERF=serial_calls (a call keeps the instance
# ring's lock over its wait and slow calls stay on it: the call path before issue 12's thread work).
# ours-spin-host is our ICD with VENUS_PERF=spin_relax: waits on the host spin some 40 µs before
# yielding the core, as they did before issue 12's round-trip work (the A/B column for it).
# ours-nofb-host is our ICD with VENUS_PERF=no_fence_feedback,no_semaphore_feedback,no_event_feedback,
# no_async_create (status from the host and creation with a reply, as before those fast paths).
# mesa-nofb-* is Mesa's guest with VN_PERF=no_fence_feedback,no_semaphore_feedback,no_event_feedback,
# no_query_feedback: its fence feedback needs mapped memory, which virglrenderer 1.1.0 cannot give on
# lavapipe, so plain Mesa hangs in vkCreateFence there (reported as such); without feedback it runs on
# both hosts. Every run has a timeout; a combination that fails its warm-up run is not run again and
# shows "fails: <reason>". Per-run outputs and host logs: artifacts/bench-icd/<time>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
die() { echo "bench-icd.sh: $*" >&2; exit 1; }
note() { echo "bench-icd.sh: $*" >&2; }

runs="${1:-${BENCH_RUNS:-5}}"
vi_runs="${BENCH_VULKANINFO_RUNS:-$runs}"
tmo="${BENCH_TIMEOUT:-60}"
args="${BENCH_ARGS:-}"
combos="${BENCH_COMBOS:-ours-host,ours-workers,ours-virgl,mesa-host,mesa-virgl,mesa-nofb-host,mesa-nofb-virgl,native}"
verify="${BENCH_VERIFY:-0}"
base="${BENCH_BASE:-}"
[ -z "$base" ] || [ -n "${BENCH_COMBOS:-}" ] || combos="$combos,ours-base-host"
for n in "$runs" "$vi_runs" "$tmo"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || die "RUNS, BENCH_VULKANINFO_RUNS and BENCH_TIMEOUT must be positive numbers"
done
IFS=',' read -r -a combo_list <<<"$combos"
for c in "${combo_list[@]}"; do
  case "$c" in ours-host|ours-workers|ours-virgl|ours-nofb-host|ours-spin-host|ours-prior-host|ours-rings-host|ours-serial-host|ours-base-host|mesa-host|mesa-virgl|mesa-nofb-host|mesa-nofb-virgl|native) ;;
    *) die "unknown combination '$c' in BENCH_COMBOS" ;; esac
done
if [[ ",$combos," == *,ours-base-host,* ]]; then
  [ -n "$base" ] && [ -f "$base/eng/icd.sh" ] && [ -f "$base/eng/host.sh" ] || die "ours-base-host needs BENCH_BASE, another checkout of this repository"
  base="$(cd "$base" && pwd)"
fi

# The exact command line first, with every setting that shapes the numbers.
echo "command: bash eng/bench-icd.sh $*  (BENCH_RUNS=$runs BENCH_VULKANINFO_RUNS=$vi_runs BENCH_TIMEOUT=$tmo BENCH_ARGS='$args' BENCH_COMBOS=$combos BENCH_VERIFY=$verify BENCH_BASE=${base:-none})"
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)'); $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

out="$root/artifacts/bench-icd/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
P="$(bash eng/peers.sh ensure)"

# ---- the client, built in the chroot (one directory per checkout) ----
cdir="/tmp/icdbench-$(printf %s "$root" | md5sum | cut -c1-8)"
mkdir -p "$P$cdir"
cp bench/clients/icdbench.c bench/clients/icdbench.comp "$P$cdir/"
chroot "$P" sh -c "cd $cdir && gcc -O2 -Wall -o icdbench icdbench.c -lvulkan -lpthread && glslangValidator -V -o icdbench.spv icdbench.comp >/dev/null" \
  >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; die "building icdbench in the chroot failed"; }

# ---- our ICD ----
manifest="" ours_fail=""
if [[ ",$combos," != *,ours-* ]]; then
  ours_fail="not selected"
elif [ ! -f eng/icd.sh ]; then
  ours_fail="eng/icd.sh is missing"
else
  note "installing our ICD (eng/icd.sh install; log: $out/icd-install.log)"
  if bash eng/icd.sh install >"$out/icd-install.out" 2>"$out/icd-install.log"; then
    manifest="$(tail -n 1 "$out/icd-install.out")"
    [ -f "$P$manifest" ] || ours_fail="eng/icd.sh install printed '$manifest', which the chroot lacks"
  else
    ours_fail="eng/icd.sh install failed: $(grep -v '^\s*$' "$out/icd-install.log" | tail -n 1 | cut -c1-160)"
  fi
  [ -z "$ours_fail" ] || note "our ICD: $ours_fail"
fi

base_manifest="" base_fail=""
if [[ ",$combos," == *,ours-base-host,* ]]; then
  note "installing the base checkout's ICD ($base; log: $out/base-icd-install.log)"
  if bash "$base/eng/icd.sh" install >"$out/base-icd-install.out" 2>"$out/base-icd-install.log"; then
    base_manifest="$(tail -n 1 "$out/base-icd-install.out")"
  else
    base_fail="the base checkout's eng/icd.sh install failed: $(grep -v '^\s*$' "$out/base-icd-install.log" | tail -n 1 | cut -c1-160)"
  fi
fi

# ---- the hosts, on fresh sockets; stopped on exit ----
hsock="/tmp/icdbench-$$-host.sock" wsock="/tmp/icdbench-$$-workers.sock" vsock="/tmp/icdbench-$$-virgl.sock" rsock="/tmp/icdbench-$$-rec.sock"
bsock="/tmp/icdbench-$$-base.sock"
pids=()
stop_hosts() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  for s in "$hsock" "$wsock" "$vsock" "$rsock" "$bsock"; do
    [ -f "$P$s.log" ] && cp "$P$s.log" "$out/$(basename "$s").log" 2>/dev/null
    rm -f "$P$s" "$P$s.log"
  done
  return 0
}
trap stop_hosts EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
host_fail="" workers_fail="" virgl_fail=""
if [[ ",$combos," == *-host,* || "$verify" = 1 ]]; then
  note "starting venus-host --isolation thread at $hsock (publishing it into the chroot)"
  if pid="$(bash eng/host.sh serve "$hsock" --isolation thread 2>"$out/host-start.log")"; then pids+=("$pid")
  else host_fail="venus-host did not start: $(tail -n 1 "$out/host-start.log")"; note "$host_fail"; fi
fi
if [[ ",$combos," == *,ours-workers,* ]]; then
  note "starting venus-host (default: worker processes) at $wsock"
  if pid="$(bash eng/host.sh serve "$wsock" 2>"$out/workers-start.log")"; then pids+=("$pid")
  else workers_fail="venus-host (workers) did not start: $(tail -n 1 "$out/workers-start.log")"; note "$workers_fail"; fi
fi
if [[ ",$combos," == *,ours-base-host,* && -z "$base_fail" ]]; then
  note "starting the base checkout's venus-host --isolation thread at $bsock"
  if pid="$(bash "$base/eng/host.sh" serve "$bsock" --isolation thread 2>"$out/base-host-start.log")"; then pids+=("$pid")
  else base_fail="the base venus-host did not start: $(tail -n 1 "$out/base-host-start.log")"; note "$base_fail"; fi
fi
if [[ ",$combos," == *-virgl,* ]]; then
  note "starting virglrenderer 1.1.0 at $vsock"
  if pid="$(bash eng/peers.sh serve "$vsock" 2>"$out/virgl-start.log")"; then pids+=("$pid")
  else virgl_fail="virgl_test_server did not start: $(tail -n 1 "$out/virgl-start.log")"; note "$virgl_fail"; fi
fi

# ---- running one combination ----
label() {
  case "$1" in
    ours-host) echo "ours / venus-host" ;; ours-workers) echo "ours / venus-host, worker processes" ;;
    ours-prior-host) echo "ours, no query feedback / venus-host" ;; ours-rings-host) echo "ours, thread rings / venus-host" ;; ours-virgl) echo "ours / virglrenderer" ;;
    ours-serial-host) echo "ours, serial calls / venus-host" ;; ours-base-host) echo "ours at the base checkout / its venus-host" ;;
    ours-nofb-host) echo "ours no-feedback, no async create / venus-host" ;;
    ours-spin-host) echo "ours, spin-first waits / venus-host" ;;
    mesa-host) echo "Mesa / venus-host" ;; mesa-virgl) echo "Mesa / virglrenderer" ;;
    mesa-nofb-host) echo "Mesa no-feedback / venus-host" ;; mesa-nofb-virgl) echo "Mesa no-feedback / virglrenderer" ;;
    native) echo "native lavapipe" ;;
  esac
}
nofb="VN_PERF=no_fence_feedback,no_semaphore_feedback,no_event_feedback,no_query_feedback"
ours_slow="no_fence_feedback,no_semaphore_feedback,no_event_feedback,no_async_create"
# Prints the driver environment of a combination, or fails with the reason it cannot run.
combo_env() {
  local sock
  if [ "$1" = ours-base-host ]; then
    [ -z "$base_fail" ] || { echo "$base_fail"; return 1; }
    echo "VK_DRIVER_FILES=$base_manifest VN_DEBUG=vtest VTEST_SOCKET_NAME=$bsock"; return 0
  fi
  case "$1" in *-host) sock="$hsock"; [ -z "$host_fail" ] || { echo "$host_fail"; return 1; } ;;
               ours-workers) sock="$wsock"; [ -z "$workers_fail" ] || { echo "$workers_fail"; return 1; } ;;
               *-virgl) sock="$vsock"; [ -z "$virgl_fail" ] || { echo "$virgl_fail"; return 1; } ;; esac
  case "$1" in
    ours-*) [ -z "$ours_fail" ] || { echo "$ours_fail"; return 1; }
            case "$1" in ours-nofb-*) echo -n "VENUS_PERF=$ours_slow " ;; ours-spin-*) echo -n "VENUS_PERF=spin_relax " ;;
                         ours-prior-*) echo -n "VENUS_PERF=no_query_feedback " ;; ours-rings-*) echo -n "VENUS_PERF=thread_rings " ;;
                         ours-serial-*) echo -n "VENUS_PERF=serial_calls " ;; esac
            echo "VK_DRIVER_FILES=$manifest VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock" ;;
    mesa-nofb-*) echo "VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json VN_DEBUG=vtest $nofb VTEST_SOCKET_NAME=$sock" ;;
    mesa-*) echo "VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock" ;;
    native) echo "VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json" ;;
  esac
}
# run COMBO ENV FILE APP...: runs APP in the chroot with the combination's driver, output to FILE;
# sets rc and ms (wall time).
rc=0 ms=0
run() {
  local denv="$2" file="$3"; shift 3
  local s; s=$(date +%s%N)
  rc=0
  # shellcheck disable=SC2086 # denv is a list of NAME=VALUE words
  timeout -k 5 "$((tmo + 10))" chroot "$P" env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp NODEVICE_SELECT=1 \
    $denv "$@" >"$file" 2>"$file.err" || rc=$?
  ms=$(( ($(date +%s%N) - s) / 1000000 ))
}
# Why a run failed, from its exit status and output.
reason() {
  local file="$1" r
  r="$(grep '^icdbench: ' "$file" 2>/dev/null | grep -v '^icdbench: ok$' | tail -n 1 | sed 's/^icdbench: //')"
  if [ -z "$r" ]; then
    case "$rc" in
      124|137) r="no answer within $((tmo + 10)) s, killed" ;;
      *) if [ "$rc" -gt 128 ]; then r="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"; else r="exit status $rc"; fi
         local last; last="$(grep -v '^\s*$' "$file.err" 2>/dev/null | tail -n 1 | cut -c1-120)"
         [ -z "$last" ] || r="$r: $last" ;;
    esac
  fi
  echo "$r"
}
icdbench="$cdir/icdbench $cdir/icdbench.spv --timeout $tmo $args"
declare -A fail_bench fail_vi nfail_bench nfail_vi
for c in "${combo_list[@]}"; do
  nfail_bench[$c]=0; nfail_vi[$c]=0
  : >"$out/$c.metrics"; : >"$out/$c.vulkaninfo"
done

# One run of each: warms the host up (venus-host compiles its code on first use) and finds the
# combinations that cannot run at all, so a hang costs one timeout, not one per run.
for c in "${combo_list[@]}"; do
  if ! denv="$(combo_env "$c")"; then fail_bench[$c]="$denv"; fail_vi[$c]="$denv"; continue; fi
  note "warm-up: $(label "$c")"
  run "$c" "$denv" "$out/$c.warmup.txt" $icdbench
  [ "$rc" = 0 ] && grep -q '^icdbench: ok$' "$out/$c.warmup.txt" || { fail_bench[$c]="$(reason "$out/$c.warmup.txt")"; note "$(label "$c"): icdbench: ${fail_bench[$c]}"; }
  run "$c" "$denv" "$out/$c.vulkaninfo-warmup.txt" vulkaninfo
  [ "$rc" = 0 ] || { fail_vi[$c]="$(reason "$out/$c.vulkaninfo-warmup.txt")"; note "$(label "$c"): vulkaninfo: ${fail_vi[$c]}"; }
done

# Measured runs, round-robin over the combinations so that load changes spread over all of them.
for r in $(seq 1 "$runs"); do
  note "icdbench run $r of $runs"
  for c in "${combo_list[@]}"; do
    [ -z "${fail_bench[$c]:-}" ] || continue
    denv="$(combo_env "$c")"
    f="$out/$c.run$r.txt"
    run "$c" "$denv" "$f" $icdbench
    if [ "$rc" = 0 ] && grep -q '^icdbench: ok$' "$f"; then
      echo "wall_ms $ms" >>"$out/$c.metrics"
      grep '^metric ' "$f" | cut -d' ' -f2- >>"$out/$c.metrics"
    else
      nfail_bench[$c]=$(( ${nfail_bench[$c]} + 1 )); fail_last_bench="$(reason "$f")"
      note "$(label "$c") icdbench run $r: $fail_last_bench"
      echo "$fail_last_bench" >"$out/$c.lastfail"
    fi
  done
done
for r in $(seq 1 "$vi_runs"); do
  note "vulkaninfo run $r of $vi_runs"
  for c in "${combo_list[@]}"; do
    [ -z "${fail_vi[$c]:-}" ] || continue
    denv="$(combo_env "$c")"
    run "$c" "$denv" "$out/$c.vulkaninfo$r.txt" vulkaninfo
    if [ "$rc" = 0 ]; then echo "$ms" >>"$out/$c.vulkaninfo"; echo "$out/$c.vulkaninfo$r.txt" >"$out/$c.vulkaninfo-ok"
    else
      nfail_vi[$c]=$(( ${nfail_vi[$c]} + 1 ))
      reason "$out/$c.vulkaninfo$r.txt" >"$out/$c.lastfail-vi"
      note "$(label "$c") vulkaninfo run $r: $(cat "$out/$c.lastfail-vi")"
    fi
  done
done

# ---- the table ----
median() { sort -g | awk '{a[NR]=$1} END { if (NR == 0) exit; m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
  if (m >= 100) printf "%.0f\n", m; else if (m >= 10) printf "%.1f\n", m; else printf "%.2f\n", m }'; }
cell_bench() { # COMBO METRIC FIRST_ROW
  local c="$1" m="$2" first="$3"
  if [ -n "${fail_bench[$c]:-}" ]; then [ "$first" = 1 ] && echo "fails: ${fail_bench[$c]}" || echo "fails"; return; fi
  if [ "${nfail_bench[$c]}" -gt 0 ]; then
    [ "$first" = 1 ] && echo "fails: $(cat "$out/$c.lastfail") (${nfail_bench[$c]} of $runs runs)" || echo "fails"; return
  fi
  local v; v="$(awk -v m="$m" '$1 == m { print $2 }' "$out/$c.metrics" | median)"
  echo "${v:--}"
}
cell_vi() {
  local c="$1"
  if [ -n "${fail_vi[$c]:-}" ]; then echo "fails: ${fail_vi[$c]}"; return; fi
  if [ "${nfail_vi[$c]}" -gt 0 ]; then echo "fails: $(cat "$out/$c.lastfail-vi") (${nfail_vi[$c]} of $vi_runs runs)"; return; fi
  median <"$out/$c.vulkaninfo"
}
cell_device() { # what vulkaninfo showed: the device's apiVersion and its number of device extensions
  local c="$1" f
  [ -f "$out/$c.vulkaninfo-ok" ] || { echo "-"; return; }
  f="$(cat "$out/$c.vulkaninfo-ok")"
  echo "$(grep -m1 -E '^\s*apiVersion\s*=' "$f" | sed -E 's/.*= *([0-9.]+).*/\1/'), $(grep -m1 '^Device Extensions: count = ' "$f" | sed 's/.*= //')"
}
rows=(
  "wall_ms|icdbench process wall time, ms"
  "init_ms|init: instance .. pipeline ready, ms"
  "record_mix_ns_per_cmd|record, ns per vkCmd* (bind pipeline + bind sets + push constants + dispatch)"
  "record_dispatch_ns_per_cmd|record, ns per vkCmdDispatch alone"
  "record_query_ns_per_cmd|record, ns per vkCmdResetQueryPool / vkCmdWriteTimestamp (query feedback notes each)"
  "submit_wait_us_median|vkQueueSubmit + vkWaitForFences + vkResetFences, µs, median"
  "submit_wait_us_p90|vkQueueSubmit + vkWaitForFences + vkResetFences, µs, p90"
  "fence_status_ns|vkGetFenceStatus of a signalled fence, ns"
  "query_subresource_layout_us|vkGetImageSubresourceLayout (round trip), µs"
  "query_dsl_support_us|vkGetDescriptorSetLayoutSupport (round trip), µs"
  "query_local_ns|vkGetBufferMemoryRequirements (local in Mesa), ns"
  "create_buffer_ns|vkCreateBuffer + vkDestroyBuffer, ns"
  "create_image_ns|vkCreateImage + vkDestroyImage (16x16 RGBA8, optimal), ns"
  "empty_call_ns|floor: a call into the driver that does nothing (our ICD's vkVenusBenchEmpty), ns"
  "event_status_ns|vkGetEventStatus of an unset event, ns"
  "query_results_ns|vkGetQueryPoolResults of a written timestamp, ns"
  "mt1_call_us|vkGetDescriptorSetLayoutSupport (round trip) from 1 thread, µs per call"
  "mt4_call_us|the same from 4 threads at once, µs per call"
)
echo
echo "Medians of $runs icdbench runs ($vi_runs for vulkaninfo) per column; args: --timeout $tmo ${args:-(defaults: --cmds 100000 --submits 2000 --queries 2000 --reps 5)}"
echo
header="| metric |" sep="| --- |"
for c in "${combo_list[@]}"; do header="$header $(label "$c") |"; sep="$sep ---: |"; done
echo "$header"; echo "$sep"
line="| device as \`vulkaninfo\` shows it: apiVersion, device extensions |"
for c in "${combo_list[@]}"; do line="$line $(cell_device "$c") |"; done
echo "$line"
line="| full \`vulkaninfo\` wall time, ms |"
for c in "${combo_list[@]}"; do line="$line $(cell_vi "$c") |"; done
echo "$line"
first=1
for row in "${rows[@]}"; do
  m="${row%%|*}" text="${row#*|}"
  line="| $text (\`$m\`) |"
  for c in "${combo_list[@]}"; do line="$line $(cell_bench "$c" "$m" "$first") |"; done
  echo "$line"
  first=0
done
echo
echo "Per-run outputs and host logs: ${out#"$root"/}"

# ---- optional: are the queries round trips? Count them on a recording venus-host. ----
if [ "$verify" = 1 ]; then
  echo
  echo "Round-trip check (BENCH_VERIFY=1): commands a recording venus-host received from icdbench --cmds 400 --submits 10 --queries 100 --reps 1"
  echo "(120 calls of each query: 100 + 20 warm-up; 60 submits: 10 + 50 warm-up)"
  recdir="/tmp/icdbench-$$-rec"
  rm -rf "${P:?}$recdir"; mkdir -p "$P$recdir"
  if ! pid="$(bash eng/host.sh serve "$rsock" --isolation thread --record "$recdir" 2>"$out/rec-start.log")"; then
    echo "- recording venus-host did not start: $(tail -n 1 "$out/rec-start.log")"
  else
    pids+=("$pid")
    dotnet build src/Venus.Cli -c Release -nologo -v:quiet -clp:ErrorsOnly -o "$out/venus-cli" >"$out/venus-cli.log" 2>&1 \
      || echo "- building src/Venus.Cli for venus dump failed (log: ${out#"$root"/}/venus-cli.log)"
    hsock_saved="$hsock"; hsock="$rsock"
    for c in ours-host mesa-host; do
      denv="$(combo_env "$c")" || { echo "- $(label "$c"): ${denv}"; continue; }
      before="$(ls "$P$recdir")"
      run "$c" "$denv" "$out/$c.verify.txt" "$cdir/icdbench" "$cdir/icdbench.spv" --timeout "$tmo" --cmds 400 --submits 10 --queries 100 --reps 1
      [ "$rc" = 0 ] || { echo "- $(label "$c"): icdbench fails: $(reason "$out/$c.verify.txt")"; continue; }
      sleep 1 # the host writes the recording when the context ends
      file="$(comm -13 <(echo "$before") <(ls "$P$recdir") | head -n 1)"
      [ -n "$file" ] && [ -f "$out/venus-cli/venus.dll" ] || { echo "- $(label "$c"): no recording"; continue; }
      dotnet "$out/venus-cli/venus.dll" dump "$P$recdir/$file" >"$out/$c.verify.dump" 2>&1 || true
      count() { grep -c "^\[[^]]*\] $1(" "$out/$c.verify.dump" || true; }
      echo "- $(label "$c"): vkGetImageSubresourceLayout $(count vkGetImageSubresourceLayout) of 120 calls," \
        "vkGetDescriptorSetLayoutSupport $(count vkGetDescriptorSetLayoutSupport) of 120," \
        "vkGetBufferMemoryRequirements $(count vkGetBufferMemoryRequirements) of 21001 (and $(count vkGetBufferMemoryRequirements2) vkGetBufferMemoryRequirements2)," \
        "vkQueueSubmit $(count vkQueueSubmit) for 60 submits, vkWaitForFences $(count vkWaitForFences), vkGetFenceStatus $(count vkGetFenceStatus) of 2100"
    done
    hsock="$hsock_saved"
    rm -rf "${P:?}$recdir"
  fi
fi
