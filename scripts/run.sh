#!/usr/bin/env bash
# The main job end to end on a fresh Debian 12 machine with the .NET SDK (run as root, or with sudo available):
# installs Debian's Fashion-MNIST package when it is missing, builds hashbd, and runs the default CIBA experiment.
# Extra arguments go to `hashbd experiment` (e.g. --config configs/quick.yaml --out runs/quick --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "installing Debian package dataset-fashion-mnist ..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist
fi
dotnet build src/HashBackdoor.Cli -c Release -v q -nologo
args=("$@")
has_out=0; has_config=0
for a in "${args[@]}"; do [ "$a" = "--out" ] && has_out=1; [ "$a" = "--config" ] && has_config=1; done
[ $has_config -eq 0 ] && args+=(--config configs/default.yaml)
[ $has_out -eq 0 ] && args+=(--out runs/default --resume)
hashbd=(dotnet src/HashBackdoor.Cli/bin/Release/net10.0/hashbd.dll)
# Local shards (docs/scale-out.md): HASHBD_SHARDS processes with HASHBD_THREADS torch threads each, on one run folder.
# Default: one process. On the quick preset, 2 shards x 1 thread (mean 300 s) and 1 process x 2 threads (mean 317 s)
# were within the noise of the loaded 2-core machine (docs/performance.md, "Local shards"), and the thread count
# changes float rounding, so one process keeps the numbers of docs/results.md reproducible. HASHBD_SHARDS=2 for shards.
SHARDS_DEFAULT=1
shards=${HASHBD_SHARDS:-$SHARDS_DEFAULT}
for a in "${args[@]}"; do [ "$a" = "--shard" ] && shards=1; done
if [ "$shards" -le 1 ]; then
  exec "${hashbd[@]}" experiment "${args[@]}"
fi
out=""; prev=""; for a in "${args[@]}"; do [ "$prev" = "--out" ] && out="$a"; prev="$a"; done
export HASHBD_THREADS=${HASHBD_THREADS:-$(( $(nproc) / shards > 0 ? $(nproc) / shards : 1 ))}
export OMP_NUM_THREADS=$HASHBD_THREADS
echo "running $shards local shards with $HASHBD_THREADS torch thread(s) each into $out (HASHBD_SHARDS=1 for one process)"
pids=()
for i in $(seq 0 $((shards - 1))); do
  "${hashbd[@]}" experiment "${args[@]}" --shard "$i/$shards" &
  pids+=($!)
done
rc=0; for p in "${pids[@]}"; do wait "$p" || rc=$?; done
[ $rc -ne 0 ] && { echo "a shard failed (exit $rc); run the same command again to continue"; exit $rc; }
# The last shard writes the results; merge if no shard saw the whole grid done.
[ -f "$out/results.json" ] || "${hashbd[@]}" merge "$out"
echo "report: $(realpath "$out/report.html")"
