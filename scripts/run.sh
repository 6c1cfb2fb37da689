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
exec dotnet src/HashBackdoor.Cli/bin/Release/net10.0/hashbd.dll experiment "${args[@]}"
