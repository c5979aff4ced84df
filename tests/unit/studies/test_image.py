"""Image transmission over the MIMO link, recovery per iteration, scenario support (issue 5).

The paper's image scenario and the command line's exit codes for bad image files are run end to end in
``tests/integration/test_harness.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import io

from mimo_amc.amc import SolverConfig
from mimo_amc.detect import make_detector
from mimo_amc.metrics import image_quality
from mimo_amc.runner import run_scenario
from mimo_amc.scenario import ImageConfig, LinkConfig, ScenarioError, scenario_from_dict
from mimo_amc.studies import check_scenario
from mimo_amc.studies.image import bits_to_image, image_to_bits, load_image, transmit_image


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


def test_image_files_are_checked_when_the_run_starts(tmp_path):
    """Validation only checks that the file exists; decoding it is the image study's check, which
    ``check_scenario`` (and ``run_scenario``, ``mimo-amc run`` / ``validate``) runs before any unit."""
    assert ImageConfig(source="camera").source == "camera"
    with pytest.raises(ValueError, match="neither a bundled image"):
        ImageConfig(source=str(tmp_path / "nope.png"))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    out = tmp_path / "out"
    data = {"name": "img", "image": {"source": str(broken)}, "link": {"snr_db": []}, "output": {"directory": str(out)}}
    scenario = scenario_from_dict(data, "img.yaml")  # valid: the file exists
    assert scenario.studies == ["image"]
    with pytest.raises(ScenarioError, match="cannot read image") as exc:
        check_scenario(scenario)
    assert "image.source" in str(exc.value) and str(broken) in str(exc.value)
    with pytest.raises(ScenarioError, match="cannot read image"):
        run_scenario(scenario, progress=False)
    assert not out.exists()  # nothing ran
    good = _rgb_png(tmp_path)
    check_scenario(scenario_from_dict({**data, "image": {"source": str(good)}}, "img.yaml"))


def test_binary_image_is_one_bit_per_pixel():
    """The paper's demo image: 100x100 black/white pixels = 10,000 bits = 1,250 256-QAM symbols; 4 users fill
    313 channel uses (the last one padded with 16 zero bits)."""
    cfg = ImageConfig(source="horse", size=[100, 100], mode="binary")
    img = load_image(cfg)
    assert img.shape == (100, 100) and set(np.unique(img)) == {0, 255}
    assert 0.2 < (img == 0).mean() < 0.8  # a silhouette, not a blank page
    bits, padding = image_to_bits(img, users=4, bits_per_symbol=8, coherence_block=313, binary=True)
    assert bits.shape == (1, 313, 4, 8) and bits.numel() - padding == 10_000 == cfg.bits_per_pixel * img.size
    assert padding == 16
    assert np.array_equal(bits_to_image(bits, img.shape, binary=True), img)


def test_repeated_draws_count_exact_recoveries():
    """draws = 100 sends a 20x20 binary image (400 bits, one coherence block) 100 times at 25 dB over 16x4 with
    the 3-bit chip. FP32 ZF's BER there is ~1e-7 (results/paper_ber_16x4 at 24 dB), so all 100 images arrive
    exactly (P(any error) ~ 100 * 400 * 1e-7 = 0.4 %); the LP-INV alone (iteration 1, BER ~0.12) never delivers
    400 error-free bits. The draws are independent: the averaged BER is the mean of their error counts, and
    at iteration 2 some but not all draws are exact."""
    img = load_image(ImageConfig(source="horse", size=[20, 20], mode="binary"))
    link = LinkConfig(num_rx_antennas=16, num_users=4, modulation="256qam", coherence_block=13)
    dets = [make_detector(n, iterations=5, solver=SolverConfig(), seed=3) for n in ("zf_fp32", "analog_zf")]
    result = transmit_image(img, link, dets, 25.0, seed=4, device="cpu", reference="zf_fp32", binary=True, draws=100)
    t = result.table.set_index(["detector", "iteration"])
    assert (t.draws == 100).all() and (t.bits == 400).all() and (t.padding_bits == 16).all()
    assert t.loc[("zf_fp32", 0)].exact_draws == 100 and t.loc[("zf_fp32", 0)].ber == 0
    first = t.loc[("analog_zf", 1)]
    assert first.exact_draws == 0 and 0.05 < first.ber < 0.2 and first.exact_ci_high < 0.04
    second = t.loc[("analog_zf", 2)]
    assert 0 < second.exact_draws < 100 and second.exact_ci_low < second.exact_fraction < second.exact_ci_high
    assert t.loc[("analog_zf", 5)].exact_draws >= second.exact_draws
    # draw 0 is the stored image: its bit errors are counted among the draws
    assert first.bit_errors == image_quality(img, result.received[("analog_zf", 1)])["wrong_pixels"] > 0
    assert first.bit_errors <= first.ber * 100 * 400
