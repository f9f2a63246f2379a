#!/usr/bin/env bash
# Installs the Debian 12 packages aia builds and runs with, if any is missing.
# Safe to run again: it does nothing when everything is installed.
set -euo pipefail

packages=(
  bazel-bootstrap bazel-rules-java
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libeigen3-dev libgtest-dev libgmock-dev coinor-libclp-dev
  coinor-libcoinutils-dev   # the SMPS sample the cutting-plane example and tests use
  zlib1g-dev
  g++ pkg-config    # plugins built outside the tree (tests/sdk_build_test.sh)
  iproute2          # network namespaces of the multi-host tests and the tutorial
  liblinear-tools   # heart_scale, the example's data
  python3-numpy     # tests check that NumPy loads the history
  python3-distributed   # bench/dask_echo.py: transport_bench's Dask comparison
  prometheus-cpp-dev   # the metrics endpoints (metrics/)
  prometheus        # tests: promtool check metrics, and a server that scrapes a worker
  libsystemd-dev    # sd_notify: the daemons tell systemd they are ready (deploy/systemd)
  # deploy/ tests: a clean Debian root for the package, containers, unit checks,
  # manifests, cloud-init user data, ssh workers in the test bed
  mmdebstrap podman runc yamllint cloud-init openssh-server openssh-client dpkg-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
