"""The machine a benchmark ran on, printed beside its figures.

Throughput of the encoder depends mostly on the CPU's vector extensions (int8 matrix
products run several times faster with AVX-512 VNNI or AMX than with AVX2 alone), so a
figure without them cannot be compared with one taken elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

# /proc/cpuinfo flag → the name people use. Order: weakest to strongest.
VECTOR_FLAGS = (
    ("avx2", "AVX2"),
    ("avx_vnni", "AVX-VNNI"),
    ("avx512f", "AVX-512"),
    ("avx512_vnni", "AVX-512 VNNI"),
    ("avx512_bf16", "AVX-512 BF16"),
    ("amx_tile", "AMX"),
)


def cpu_model(cpuinfo: str) -> str:
    """The first `model name` in /proc/cpuinfo text (ARM kernels name it differently)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "cpu model") and value.strip():
            return value.strip()
    return "unknown CPU"


def vector_extensions(cpuinfo: str) -> list[str]:
    """The vector extensions named in the first `flags` line of /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags = set(value.split())
            return [name for flag, name in VECTOR_FLAGS if flag in flags]
    return []


def describe_machine(cpuinfo_path: Path = Path("/proc/cpuinfo")) -> str:
    """One line: CPU model, its vector extensions (or that it has none of them), usable CPUs."""
    try:
        cpuinfo = cpuinfo_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        cpuinfo = ""
    extensions = vector_extensions(cpuinfo)
    named = ", ".join(extensions) if extensions else "no AVX2, AVX-512, VNNI or AMX"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {cpu_model(cpuinfo)} ({named}); {usable} usable CPUs"
