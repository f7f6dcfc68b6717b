#!/usr/bin/env bash
# Installs libtorch 2.9.0 for the `tch` backend from PyPI's torch==2.9.0 wheel
# (the version torch-sys 0.22 expects) into a local virtualenv, then prints the
# lines to export before building with `--features tch`:
#
#   eval "$(scripts/setup-libtorch.sh)"            # venv in ./.venv-libtorch
#   scripts/setup-libtorch.sh /opt/libtorch-venv   # elsewhere
#
# The Linux wheel brings the CUDA libraries too (about 4 GB to download, 6.7 GB
# on disk): libtorch needs some of them even on the CPU, and with them the same
# build also runs on an NVIDIA GPU. Progress goes to stderr, exports to stdout.
set -euo pipefail
venv=$(realpath -m "${1:-$(dirname "$0")/../.venv-libtorch}")

# Debian's python3 has the venv module but not ensurepip, without which
# `python3 -m venv` fails.
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    echo "installing python3-venv with apt-get" >&2
    { apt-get update -q && apt-get install -y -q python3-venv; } >&2
fi
# A venv without pip (one whose creation was killed halfway) is made anew.
[ -x "$venv/bin/pip" ] || python3 -m venv --clear "$venv" >&2
if ! "$venv/bin/python" -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.9.0")' 2>/dev/null; then
    echo "installing torch==2.9.0 into $venv (about 4 GB, a few minutes)" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir torch==2.9.0 >&2
fi

# torch-sys asks the venv's `python` where libtorch is (LIBTORCH_USE_PYTORCH);
# trainer's build script then bakes that directory into the binary's rpath, so
# running it needs no LD_LIBRARY_PATH.
echo "export LIBTORCH_USE_PYTORCH=1"
echo "export VIRTUAL_ENV=$venv"
echo "export PATH=$venv/bin:\$PATH"
