"""What the CPU can do, read once from /proc/cpuinfo: kernels are picked by it (int8 USE, llama.cpp's weight buffers)."""

from __future__ import annotations

import functools


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The first processor's feature flags (``avx2``, ``avx512_vnni``, ``amx_int8`` ...); empty where unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            line = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return frozenset()
    return frozenset(line.partition(":")[2].split())


def has_vnni() -> bool:
    """AVX-512 VNNI or AVX-VNNI: int8 dot products in one instruction."""
    return bool({"avx512_vnni", "avx_vnni"} & cpu_flags())


def has_amx() -> bool:
    """AMX int8 tiles (recent Xeons)."""
    return "amx_int8" in cpu_flags()
