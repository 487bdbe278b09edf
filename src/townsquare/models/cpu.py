"""What the CPU can do, read once from /proc/cpuinfo: kernels are picked by it (int8 USE, llama.cpp's weight buffers)."""

from __future__ import annotations

import contextlib
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


@functools.cache
def _blas_controller():  # noqa: ANN202 - a threadpoolctl ThreadpoolController, or None
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()
    except Exception:  # threadpoolctl missing: numpy keeps its default threads
        return None


def blas_threads(n: int):  # noqa: ANN201 - a context manager
    """BLAS limited to ``n`` threads inside the block (~10 us to enter). Where our own threads
    already fill the cores, small products run best on one: BLAS's idle threads spin-wait after
    each call, on the cores the next step needs."""
    controller = _blas_controller()
    return controller.limit(limits=n, user_api="blas") if controller else contextlib.nullcontext()
