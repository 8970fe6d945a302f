"""The benchmarks name the CPU and its vector extensions (pure parsing of /proc/cpuinfo text)."""

from pathlib import Path

from bench.machine import cpu_model, describe_machine, vector_extensions

EPYC_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 avx f16c avx2 bmi2 sha_ni
"""

XEON_AMX = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: avx avx2 avx512f avx512bw avx512_vnni avx_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""


def test_an_avx2_only_cpu_is_named_with_avx2_alone() -> None:
    assert cpu_model(EPYC_AVX2) == "AMD EPYC 7B13"
    assert vector_extensions(EPYC_AVX2) == ["AVX2"]


def test_a_sapphire_rapids_cpu_lists_vnni_and_amx() -> None:
    assert vector_extensions(XEON_AMX) == ["AVX2", "AVX-VNNI", "AVX-512", "AVX-512 VNNI", "AVX-512 BF16", "AMX"]


def test_the_line_says_when_no_extension_is_there(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Old CPU\nflags\t\t: fpu sse sse2\n", encoding="utf-8")
    line = describe_machine(cpuinfo)
    assert line.startswith("CPU: Old CPU (no AVX2, AVX-512, VNNI or AMX);")


def test_an_unreadable_cpuinfo_still_gives_a_line(tmp_path: Path) -> None:
    assert describe_machine(tmp_path / "missing").startswith("CPU: unknown CPU")
