#!/usr/bin/env bash
# Installs the system packages a Gantry build needs (a C compiler and make, for jemalloc,
# and cmake, for pingora's zlib-ng), when they are missing. Safe to run again; does nothing if all is there.
set -euo pipefail

missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing ${missing[*]} (needed to build pingora and jemalloc)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "please install: ${missing[*]} (a C toolchain, make and cmake are needed to build pingora and jemalloc)" >&2
  exit 1
fi
