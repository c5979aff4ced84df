"""Image transmission over the MIMO link, recovery per iteration, scenario support (issue 5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from skimage import io

from mimo_amc.amc import SolverConfig
from mimo_amc.cli import main
from mimo_amc.detect import make_detector
from mimo_amc.imaging import ImageConfig, bits_to_image, image_quality, image_to_bits, load_image, transmit_image
from mimo_amc.link import LinkConfig

ROOT = Path(__file__).resolve().parents[1]


def _rgb_png(tmp_path: Path, shape=(67, 101, 3)) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "odd.png"
    io.imsave(path, rng.integers(0, 256, shape, dtype=np.uint8), check_contrast=False)
    return path


def test_bits_round_trip_with_padding():
    img = np.random.default_rng(1).integers(0, 256, (67, 101, 3), dtype=np.uint8)
    bits, padding = image_to_bits(img, users=8, bits_per_symbol=8, coherence_block=100)
    assert bits.shape[1:] == (100, 8, 8)
    assert bits.numel() - padding == img.size * 8 and 0 <= padding < 100 * 64
    assert np.array_equal(bits_to_image(bits, img.shape), img)


def test_quality_measures():
    img = np.full((32, 32), 100, np.uint8)
    noisy = img.copy()
    noisy[0, :4] = 101  # four pixels off by one LSB
    q = image_quality(img, noisy)
    assert q["wrong_pixels"] == 4 and q["bit_errors"] == 4  # 0b1100100 -> 0b1100101: one bit each
    assert q["psnr_db"] == pytest.approx(10 * np.log10(255**2 / (4 / 1024)))
    assert image_quality(img, img)["lossless"] and np.isnan(image_quality(img, img)["psnr_db"])


def test_user_rgb_png_of_odd_size_round_trips_losslessly_through_the_ideal_link(tmp_path):
    """Acceptance (issue 5): a 101x67 RGB PNG, padding handled, ideal solver, high SNR."""
    cfg = ImageConfig(source=str(_rgb_png(tmp_path)), mode="rgb", snr_db=40.0)
    img = load_image(cfg)
    assert img.shape == (67, 101, 3)
    link = LinkConfig(num_rx_antennas=32, num_users=4, modulation="256qam", coherence_block=64)
    dets = [make_detector(n, iterations=2, solver=SolverConfig(ideal=True), seed=0) for n in ("zf_fp64", "analog_zf")]
    result = transmit_image(img, link, dets, cfg.snr_db, seed=1, device="cpu", reference="zf_fp64")
    assert result.table.padding_bits.iloc[0] > 0
    assert result.table.lossless.all()
    assert all(np.array_equal(im, img) for im in result.received.values())


def test_ideal_analog_image_equals_fp64_image_pixel_for_pixel():
    """Acceptance (issue 5): at an SNR with errors, the ideal analog detector makes FP64's errors exactly."""
    img = load_image(ImageConfig(source="camera", size=[64, 64]))
    link = LinkConfig(num_rx_antennas=16, num_users=4, modulation="256qam", coherence_block=50)
    dets = [make_detector(n, iterations=3, solver=SolverConfig(ideal=True), seed=0) for n in ("zf_fp64", "analog_zf")]
    result = transmit_image(img, link, dets, 18.0, seed=2, device="cpu", reference="zf_fp64")
    fp64 = result.received[("zf_fp64", 0)]
    assert not np.array_equal(fp64, img)  # the link does make errors here
    for it in (1, 2, 3):
        assert np.array_equal(result.received[("analog_zf", it)], fp64)
    assert (result.table.pixels_differing_from_reference == 0).all()


def test_paper_image_scenario(tmp_path):
    """Acceptance (issue 5): 128x8, default chip: iteration 1 >= 1 % wrong pixels; the image equals
    the FP32 ZF image by iteration 4 (both lossless, or PSNR within 0.1 dB); the grid figure exists."""
    out = tmp_path / "paper_image"
    cmd = [sys.executable, str(ROOT / "run_experiment.py"), str(ROOT / "scenarios/paper_image.yaml"),
           "--output", str(out), "--no-progress"]  # fmt: skip
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    table = pd.read_parquet(out / "image.parquet")
    big = table[table["link.num_rx_antennas"] == 128]
    ref = big[big.detector == "zf_fp32"].iloc[0]
    analog = big[big.detector == "analog_zf"].set_index("iteration")
    assert analog.loc[1].wrong_pixels >= 0.01 * analog.loc[1].pixels
    for it in (4, 5):
        row = analog.loc[it]
        assert (row.lossless and ref.lossless) or abs(row.psnr_db - ref.psnr_db) < 0.1
        assert row.pixels_differing_from_reference == 0
    assert len(table.groupby("point")) == 3  # 128x8 3-bit, 16x4 3-bit, 16x4 4-bit
    for name in ("figures/image_grid.png", "figures/image_grid.pdf", "tables/image.md", "tables/image.tex"):
        assert (out / name).is_file(), name
    assert "lossless" in (out / "tables/image.md").read_text()


@pytest.mark.parametrize("kind", ["missing", "unreadable"])
def test_bad_image_files_exit_2_before_any_simulation(tmp_path, capsys, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ("nope.png" if kind == "missing" else "broken.png")
    if kind == "unreadable":
        path.write_bytes(b"not a png at all")
    scenario = tmp_path / "img.yaml"
    scenario.write_text(yaml.safe_dump({"image": {"source": str(path)}, "link": {"snr_db": []}}))
    assert main(["run", str(scenario), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "image.source" in err and str(path) in err
    assert ("neither a bundled image" if kind == "missing" else "cannot read image") in err
    assert not (tmp_path / "results").exists()
