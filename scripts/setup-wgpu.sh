#!/usr/bin/env bash
# Mesa's software Vulkan driver (lavapipe) and the Vulkan loader, so that the
# wgpu backend runs on a machine without a GPU (CI). Needs root (apt-get).
set -euo pipefail
if [ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && ldconfig -p | grep -q libvulkan.so.1; then
    echo "setup-wgpu: lavapipe already installed"
    exit 0
fi
apt-get install -y -q mesa-vulkan-drivers libvulkan1 >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q mesa-vulkan-drivers libvulkan1 >/dev/null
}
echo "setup-wgpu: installed mesa-vulkan-drivers (lavapipe) and libvulkan1"
