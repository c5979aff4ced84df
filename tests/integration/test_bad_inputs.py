"""Bad-input catalogue: every case ends with exit 2 (CLI) or ValueError/TypeError (API) and one clear
paragraph, before any unit is computed; none prints a traceback, hangs, or writes outside its folder."""

from __future__ import annotations

import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from mimo_amc.amc import AnalogSolver, SolverConfig
from mimo_amc.cli import main
from mimo_amc.detect import AnalogEqualizer, DigitalEqualizer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
OK = "name: ok\nlink: {num_rx_antennas: 8, num_users: 2, modulation: qpsk, snr_db: [10]}\n"
LINK = "cost: {receiver_links: [{name: a, antennas: 8, users: 2, iterations: 3, source: s, "
LAUGHS = "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else '1, 1, 1, 1, 1, 1, 1, 1, 1'}]\n" for i in range(7)
)


def png(path: Path, pixels: np.ndarray, bit_depth: int = 8, color_type: int = 0) -> Path:
    """A minimal PNG writer (gray = 0, gray+alpha = 4, RGB = 2) so that tests need no image library."""
    h, w = pixels.shape[:2]
    raw = b"".join(b"\x00" + row.astype(">u2" if bit_depth == 16 else "u1").tobytes() for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )
    return path


# (case id, scenario text or None for the OK scenario, extra CLI words, text the message must contain)
CLI_CASES = [
    ("name_dotdot", "name: ..\n", [], "name"),
    ("name_dot", "name: .\n", [], "name"),
    ("name_long", "name: " + "a" * 5000 + "\n", [], "at most 100"),
    ("set_name_dotdot", OK, ["--set", "name=.."], "name"),
    ("bool_for_int", OK + "amc: {device: {bits: true}}\n", [], "boolean"),
    ("inf_gmax", OK + "amc: {device: {g_max_us: .inf}}\n", [], "finite"),
    ("inf_drift_time", OK + "amc: {device: {drift_time_s: .inf}}\n", [], "finite"),
    ("inf_carrier", "name: x\nlink: {snr_db: [1], channel: {carrier_frequency_hz: .inf}}\n", [], "finite"),
    ("neg_inf_nmse", "name: x\nlink: {snr_db: [1], csi: {kind: nmse, nmse_db: -.inf}}\n", [], "finite"),
    ("nan_snr", "name: x\nlink: {snr_db: [.nan]}\n", [], "finite"),
    ("non_integral_int", OK + "monte_carlo: {max_bits: 1234.5e0}\n", [], "max_bits"),
    ("laughs_in_name", LAUGHS + "name: [*l6, *l6]\n", [], "anchors and aliases"),
    ("laughs_in_sweep", LAUGHS + OK + "sweep: {grid: {link.snr_db: [*l6]}}\n", [], "anchors and aliases"),
    ("laughs_in_variant", LAUGHS + OK + "detectors: {variants: {v: {amc: {x: *l6}}}}\n", [], "anchors and aliases"),
    ("laughs_in_snr", LAUGHS + "name: x\nlink: {snr_db: *l6}\n", [], "anchors and aliases"),
    ("laughs_in_set", OK, ["--set", "link.snr_db=" + "[" * 200000 + "]" * 200000], "link.snr_db"),
    ("mixed_sweep", OK + "sweep: {grid: {amc.lpinv.prog_sigma: [0.01, '0.02']}}\n", [], "mixes"),
    ("repeated_sweep", OK + "sweep: {grid: {amc.device.bits: [3, 3]}}\n", [], "twice"),
    ("repeated_zip_row", OK + "sweep: {zip: {amc.device.bits: [3, 3], amc.damping: [1, 1]}}\n", [], "repeats"),
    ("sweep_output", OK + "sweep: {grid: {output.directory: [a, b]}}\n", [], "only experiment parameters"),
    ("sweep_name", OK + "sweep: {grid: {name: [a, b]}}\n", [], "only experiment parameters"),
    ("sweep_preset", OK + "sweep: {grid: {amc.preset: [ideal, zuo2025]}}\n", [], "preset cannot be swept"),
    (
        "sweep_too_big",
        OK
        + "sweep: {grid: {"
        + ", ".join(
            f"{k}: [{', '.join(str(0.001 * (i + 1)) for i in range(10))}]"
            for k in (
                "amc.lpinv.prog_sigma",
                "amc.lpinv.read_noise",
                "amc.hpmvm.prog_sigma",
                "amc.hpmvm.read_noise_lsb",
                "amc.damping",
                "amc.device.drift_nu",
                "amc.device.stuck_at_rate",
                "amc.lpinv.diagonal_loading",
            )
        )
        + "}}\n",
        [],
        "at most 10000",
    ),
    ("show_iterations", OK + "image: {show_iterations: [99]}\n", [], "show_iterations"),
    ("huge_batch", OK + "monte_carlo: {realizations_per_batch: 1e12}\n", [], "GiB"),
    ("over_budget", OK + "monte_carlo: {max_memory_gb: 1e-6}\n", [], "max_memory_gb = 1e-06 GiB (the budget)"),
    ("zero_budget", OK + "monte_carlo: {max_memory_gb: 0}\n", [], "max_memory_gb"),
    ("huge_block", "name: x\nlink: {snr_db: [1], coherence_block: 1e12}\n", [], "GiB"),
    ("huge_subcarriers", "name: x\nlink: {snr_db: [1], channel: {model: umi, num_subcarriers: 1e12}}\n", [], "65536"),
    ("huge_image", OK + "image: {size: [1000000, 1000000]}\n", [], "4096"),
    ("amc_iterations", OK + "amc: {iterations: 5}\n", [], "detectors.iterations"),
    ("variant_iterations", OK + "detectors: {variants: {v: {amc: {iterations: 5}}}}\n", [], "iterations"),
    ("misspelt_key", OK + "amc: {devcie: {bits: 3}}\n", [], "Did you mean 'device'"),
    ("unknown_detector", OK + "detectors: {names: [zf_fp16]}\n", [], "zf_fp16"),
    ("reference_not_run", OK + "detectors: {names: [zf_fp64], reference: zf_fp32}\n", [], "reference"),
    ("users_over_antennas", "name: x\nlink: {num_rx_antennas: 2, num_users: 4, snr_db: [1]}\n", [], "num_users"),
    ("snr_twice", "name: x\nlink: {snr_db: [1, 1]}\n", [], "twice"),
    ("snr_range", "name: x\nlink: {snr_db: [1000]}\n", [], "outside"),
    ("malformed", "name: [x\n", [], "malformed YAML"),
    ("top_level_list", "- a\n- b\n", [], "top level"),
    ("set_no_equals", OK, ["--set", "amc.device.bits"], "KEY=VALUE"),
    ("set_unknown_key", OK, ["--set", "amc.devices.bits=3"], "unknown field"),
    ("set_bad_preset", OK, ["--set", "amc.preset=nope"], "unknown chip preset"),
    ("file_bad_preset", OK + "amc: {preset: nope}\n", [], "unknown chip preset"),
    ("variant_bad_preset", OK + "detectors: {variants: {v: {amc: {preset: nope}}}}\n", [], "unknown chip preset"),
    ("variant_name", OK + "detectors: {variants: {'bad name': {}}}\n", [], "variant name"),
    ("variant_bad_field", OK + "detectors: {variants: {v: {amc: {device: {bits: 99}}}}}\n", [], "variants.v.amc"),
    ("image_missing", OK + "image: {source: /nonexistent.png}\n", [], "neither a bundled image"),
    ("two_tolerances", OK + "amc: {stopping: {noise_fraction: 0.1, ber_change: 0.05}}\n", [], "at most one of"),
    ("bad_fallback", OK + "amc: {stopping: {fallback: magic}}\n", [], "fallback"),
    ("link_bad_amc", OK + LINK + "amc: {device: {bits: 99}}}]}\n", [], "cost.receiver_links[0].amc"),
    (
        "link_bad_outage",
        OK + LINK + "adaptive: {iterations_mean: 3, outage_fraction: 2, fallback: digital}}]}\n",
        [],
        "outage_fraction",
    ),
    ("not_a_number", OK + "amc: {damping: fast}\n", [], "damping"),
    ("negative_seed", OK + "monte_carlo: {seed: -1}\n", [], "seed"),
    ("bad_modulation", "name: x\nlink: {modulation: 1024qam, snr_db: [1]}\n", [], "modulation"),
    ("nothing_to_run", "name: x\nlink: {snr_db: []}\n", [], "nothing" if False else "give an SNR point"),
]


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "s.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _cli(capsys, words: list[str]) -> tuple[int, str]:
    start = time.perf_counter()
    try:
        code = main(words)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert time.perf_counter() - start < 10, "took more than 10 s"
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(("case", "text", "extra", "expect"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_validate_refuses(case, text, extra, expect, tmp_path, capsys):
    code, err = _cli(capsys, ["validate", str(_write(tmp_path, text)), *extra])
    assert code == 2, err
    assert expect in err
    assert err.startswith("error: ") and err.count("\n") == 1  # one paragraph


@pytest.mark.parametrize(
    ("case", "raw", "expect"),
    [
        ("byte_in_value", b"name: caf\xe9\n", "not valid UTF-8"),
        ("byte_in_comment", b"name: x  # \xff\n", "not valid UTF-8"),
        ("missing_file", None, "no such scenario file"),
    ],
)
def test_cli_file_problems(case, raw, expect, tmp_path, capsys):
    path = _write(tmp_path, raw) if raw is not None else tmp_path / "missing.yaml"
    code, err = _cli(capsys, ["validate", str(path)])
    assert code == 2 and expect in err


@pytest.mark.parametrize(
    ("case", "pixels", "depth", "color", "expect"),
    [
        ("sixteen_bit", np.full((16, 16), 40000), 16, 0, "only 8-bit images"),
        ("tiny", np.zeros((4, 4)), 8, 0, "7x7 window"),
    ],
)
def test_cli_bad_images(case, pixels, depth, color, expect, tmp_path, capsys):
    image = png(tmp_path / "i.png", pixels, depth, color)
    code, err = _cli(capsys, ["validate", str(_write(tmp_path, OK + f"image: {{source: {image}}}\n"))])
    assert code == 2 and expect in err


def test_cli_garbage_image(tmp_path, capsys):
    (tmp_path / "g.png").write_bytes(b"not an image at all")
    code, err = _cli(capsys, ["validate", str(_write(tmp_path, OK + f"image: {{source: {tmp_path / 'g.png'}}}\n"))])
    assert code == 2 and "cannot read image file" in err


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("utf16_bom", ("\ufeff" + OK).encode("utf-16-le")),
        ("utf8_bom", ("\ufeff" + OK).encode()),
        ("sci_notation_int", (OK + "monte_carlo: {max_bits: 1e6}\n").encode()),
    ],
)
def test_cli_accepts(case, text, tmp_path, capsys):
    code, err = _cli(capsys, ["validate", str(_write(tmp_path, text))])
    assert code == 0, err


def test_gray_alpha_image_is_sent_as_gray(tmp_path, capsys):
    pixels = np.stack([np.arange(64).reshape(8, 8) * 3, np.full((8, 8), 255)], axis=-1)
    image = png(tmp_path / "ga.png", pixels.reshape(8, 8 * 2).reshape(8, 8, 2), 8, 4)
    code, err = _cli(capsys, ["validate", str(_write(tmp_path, OK + f"image: {{source: {image}}}\n"))])
    assert code == 0, err


@pytest.mark.parametrize(
    ("case", "words", "expect"),
    [
        ("threads", ["--threads", "100000"], "cores"),
        ("workers", ["--workers", "100000"], "cores"),
        ("ray_address", ["--executor", "ray", "--address", "127.0.0.1:9"], "127.0.0.1:9"),
    ],
)
def test_cli_run_refuses(case, words, expect, tmp_path, capsys):
    code, err = _cli(capsys, ["run", str(_write(tmp_path, OK)), "--output", str(tmp_path / "out"), *words])
    assert code == 2 and expect in err
    assert not (tmp_path / "out" / "units").exists()


def test_output_below_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, err = _cli(capsys, ["run", str(_write(tmp_path, OK)), "--output", str(tmp_path / "file" / "out")])
    assert code == 2 and "is a file" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_unwritable_output_folder(tmp_path, capsys):
    # /proc refuses new entries even to root (a chmod-ed folder would not stop root).
    code, err = _cli(capsys, ["run", str(_write(tmp_path, OK)), "--output", "/proc/mimo-amc-out"])
    assert code == 2 and "/proc/mimo-amc-out" in err and "Traceback" not in err


def test_output_into_a_foreign_folder_touches_nothing(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    for name in ("report.md", "results.csv", "image.csv", "precision.parquet"):
        (foreign / name).write_text("keep me")
    code, err = _cli(capsys, ["run", str(_write(tmp_path, OK)), "--output", str(foreign), "--fresh"])
    assert code == 2 and "not a results folder" in err
    assert sorted(p.name for p in foreign.iterdir()) == ["image.csv", "precision.parquet", "report.md", "results.csv"]
    assert all(p.read_text() == "keep me" for p in foreign.iterdir())


A = torch.eye(4, dtype=torch.float64) * 2


@pytest.mark.parametrize(
    ("case", "call", "error", "expect"),
    [
        (
            "nan_matrix",
            lambda: AnalogSolver(device="cpu").solve(A * torch.nan, torch.ones(4)),
            ValueError,
            "matrix has 16",
        ),
        (
            "inf_b",
            lambda: AnalogSolver(device="cpu").solve(A, torch.tensor([1, torch.inf, 0, 0])),
            ValueError,
            "b has 1",
        ),
        (
            "complex_b",
            lambda: AnalogSolver(device="cpu").solve(A, torch.ones(4, dtype=torch.complex128)),
            TypeError,
            "real",
        ),
        (
            "complex_a",
            lambda: AnalogSolver(device="cpu").solve(A + 0j, torch.ones(4)),
            TypeError,
            "complex_to_real_matrix",
        ),
        (
            "batch_mismatch",
            lambda: AnalogSolver(device="cpu").solve(A.expand(5, 4, 4), torch.ones(3, 4)),
            ValueError,
            "(3, 4)",
        ),
        (
            "unbatched_b",
            lambda: AnalogSolver(device="cpu").solve(A.expand(5, 4, 4), torch.ones(4)),
            ValueError,
            "(5, 4, 4)",
        ),
        (
            "iterations_negative",
            lambda: AnalogSolver(device="cpu").solve(A, torch.ones(4), -3),
            ValueError,
            "iterations",
        ),
        ("iterations_zero", lambda: AnalogSolver(device="cpu").solve(A, torch.ones(4), 0), ValueError, "iterations"),
        (
            "empty_matrix",
            lambda: AnalogSolver(device="cpu").solve(torch.zeros(0, 0), torch.zeros(0)),
            ValueError,
            "n >= 1",
        ),
        ("kind_upper", lambda: AnalogEqualizer("ZF"), ValueError, "'ZF'"),
        ("kind_typo", lambda: AnalogEqualizer("zmf"), ValueError, "'zmf'"),
        ("equalizer_iterations", lambda: AnalogEqualizer("zf", iterations=0), ValueError, "iterations"),
        ("digital_precision", lambda: DigitalEqualizer("zf", "half"), ValueError, "'half'"),
        ("bad_solver_config", lambda: SolverConfig(device={"bits": True}), ValueError, "boolean"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_api_refuses(case, call, error, expect):
    with pytest.raises(error, match=None) as info:
        call()
    assert expect in str(info.value)


def _detect(y, h, s, kind="zf"):
    return DigitalEqualizer(kind, "double").detect(y, h, s)


H = torch.ones(16, 4, dtype=torch.complex128)
S = torch.eye(16, dtype=torch.complex128)


@pytest.mark.parametrize(
    ("case", "args", "expect"),
    [
        ("y_antennas", (torch.ones(12, dtype=torch.complex128), H, S), "M = 16"),
        ("s_size", (torch.ones(16, dtype=torch.complex128), H, torch.eye(12, dtype=torch.complex128)), "M = 16"),
        ("nan_y", (torch.full((16,), torch.nan, dtype=torch.complex128), H, S), "y has 16"),
        ("inf_h", (torch.ones(16, dtype=torch.complex128), H * torch.inf, S), "h has"),
        (
            "zf_underdetermined",
            (
                torch.ones(2, dtype=torch.complex128),
                torch.ones(2, 4, dtype=torch.complex128),
                torch.eye(2, dtype=torch.complex128),
            ),
            "M = 2 < K = 4",
        ),
    ],
)
def test_detector_inputs_refused(case, args, expect):
    with pytest.raises(ValueError) as info:
        _detect(*args)
    assert expect in str(info.value)


def test_cuda_on_a_cpu_machine():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="no CUDA device"):
        AnalogSolver(device="cuda")
