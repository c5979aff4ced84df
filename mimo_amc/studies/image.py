"""The image study: an image sent over the MIMO uplink, recovered per detector and iteration.

An 8-bit image (grayscale or RGB) becomes a bit stream, MSB first, in row-major pixel
order (a binary image: one bit per pixel, white = 1); consecutive bits fill the symbols of
user 0, 1, ..., K-1 of a channel use, then the next channel use, then the next coherence
block (with 256-QAM every symbol carries exactly one 8-bit pixel value, or 8 binary pixels).
The last block is padded with zero bits (``padding_bits``) and the padding is dropped on
reception. Every configured detector decides on the same received signals, and one image
per detector and reported iteration is rebuilt.

With ``image.draws = D`` the image is sent D times at once, as one batch of D times its
blocks, each over its own channel realisations, noise and chip writes (draw d holds blocks
``d B .. (d + 1) B - 1``): the paper's demo repeated over independent draws. Per (detector,
iteration) the table counts the draws received without a single bit error (``exact_draws``,
``exact_fraction`` and its Clopper-Pearson interval) and the BER over every draw (``ber``).

Quality of draw 0's image (the one stored and shown): PSNR (dB, peak 255; an exact copy is
reported as ``lossless`` rather than an infinite PSNR), SSIM (scikit-image), bit errors and
the number of wrong pixels (a pixel is wrong if any of its channels differs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import sionna.phy
import torch
from skimage import color, data, io, transform

from ..detect import Equalizer, NearestPointSlicer, make_detectors
from ..link import Uplink
from ..metrics import clopper_pearson, image_quality
from ..scenario import (
    BUNDLED_IMAGES,
    ImageConfig,
    LinkConfig,
    Scenario,
    ScenarioError,
    SweepPoint,
    derive_seed,
)
from .base import Progress, Unit, UnitResult, section_unit
from .ber import batch_bytes


def load_image(cfg: ImageConfig) -> np.ndarray:
    """The image as uint8, ``[H, W]`` (gray) or ``[H, W, 3]`` (RGB), resized if configured.

    Raises:
        ValueError: for an image that is not 8 bits per channel (a 16-bit PNG would wrap modulo 256),
            has an unsupported channel layout, or is smaller than SSIM's 7 x 7 window without ``size``.

    Example:
        >>> load_image(ImageConfig(source="camera", size=[16, 24])).shape
        (16, 24)
    """
    img = getattr(data, cfg.source)() if cfg.source in BUNDLED_IMAGES else io.imread(cfg.source)
    img = np.asarray(img)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.dtype != np.uint8:
        raise ValueError(f"{img.dtype} pixels: only 8-bit images are sent (convert it to 8 bits per channel)")
    if img.ndim == 3 and img.shape[-1] == 2:  # gray + alpha: the alpha channel is not sent
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] not in (3, 4)):
        raise ValueError(f"shape {img.shape}: expected gray [H, W], gray+alpha, RGB or RGBA [H, W, 3|4]")
    if cfg.size is None and min(img.shape[:2]) < 7:
        raise ValueError(f"{img.shape[0]}x{img.shape[1]} pixels: smaller than SSIM's 7x7 window; give image.size")
    if img.ndim == 3 and img.shape[-1] == 4:
        img = (color.rgba2rgb(img) * 255).round().astype(np.uint8)
    if cfg.mode != "rgb" and img.ndim == 3:
        img = (color.rgb2gray(img) * 255).round().astype(np.uint8)
    elif cfg.mode == "rgb" and img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if cfg.size is not None:
        img = transform.resize(img, cfg.size, preserve_range=True, anti_aliasing=True).round().astype(np.uint8)
    if cfg.mode == "binary":
        img = np.where(img >= 128, 255, 0)
    return img.astype(np.uint8)


def pixel_bits(image: np.ndarray, binary: bool = False) -> np.ndarray:
    """The bit stream of ``image`` (uint8 0/1): 8 bits per value MSB first, or one per pixel if ``binary``.

    Example:
        >>> pixel_bits(np.array([[0, 255]], np.uint8), binary=True).tolist()
        [0, 1]
    """
    return (image.ravel() >= 128).astype(np.uint8) if binary else np.unpackbits(image.ravel())


def image_to_bits(
    image: np.ndarray, users: int, bits_per_symbol: int, coherence_block: int, binary: bool = False
) -> tuple[torch.Tensor, int]:
    """Bits ``[B, T, K, bits_per_symbol]`` carrying ``image`` (zero-padded), and the padding in bits."""
    bits = pixel_bits(image, binary)
    per_block = coherence_block * users * bits_per_symbol
    blocks = math.ceil(len(bits) / per_block)
    padding = blocks * per_block - len(bits)
    bits = np.concatenate([bits, np.zeros(padding, np.uint8)])
    return torch.from_numpy(bits.reshape(blocks, coherence_block, users, bits_per_symbol)).double(), padding


def bits_to_image(bits: torch.Tensor, shape: tuple[int, ...], binary: bool = False) -> np.ndarray:
    """Rebuild a uint8 image of ``shape`` from received bits ``[..., bits]`` (padding dropped); a binary
    image's pixels are 0 or 255."""
    flat = bits.reshape(-1).to(torch.uint8).cpu().numpy()[: (1 if binary else 8) * math.prod(shape)]
    return flat.reshape(shape) * np.uint8(255) if binary else np.packbits(flat).reshape(shape)


@dataclass(frozen=True)
class ImageTransmission:
    """Result of :func:`transmit_image`.

    Attributes:
        original: The sent image (uint8).
        received: ``{(detector, iteration): image}`` for every detector and reported iteration.
        table: One row per ``(detector, iteration)`` with the quality columns and the sizes.
    """

    original: np.ndarray
    received: dict[tuple[str, int], np.ndarray]
    table: pd.DataFrame


def transmit_image(
    image: np.ndarray,
    link_cfg: LinkConfig,
    detectors: Sequence[Equalizer],
    snr_db: float,
    *,
    seed: int,
    device: torch.device | str = "cpu",
    reference: str | None = None,
    binary: bool = False,
    draws: int = 1,
    confidence: float = 0.95,
) -> ImageTransmission:
    """Send ``image`` over the uplink ``draws`` times (one batch) and rebuild it with every detector and iteration.

    ``binary`` sends one bit per pixel (a black/white image, see :func:`pixel_bits`). With a
    ``reference`` detector name, the table also counts the pixels in which each image of draw 0
    differs from the reference detector's image (``pixels_differing_from_reference``).
    """
    sionna.phy.config.seed = seed
    link = Uplink(link_cfg, device=device)
    bits, padding = image_to_bits(
        image, link_cfg.num_users, link_cfg.bits_per_symbol, link_cfg.coherence_block, binary
    )  # [B, T, K, bits_per_symbol]
    blocks, payload = bits.shape[0], bits.numel() - padding
    slicer = NearestPointSlicer(link.constellation)
    with torch.no_grad():
        batch = link.transmit(bits.repeat(draws, 1, 1, 1), snr_db)  # [draws B, T, K, bits_per_symbol]
        y, h, s = batch.y, batch.h_est.unsqueeze(1), batch.s
        sent = batch.bits.reshape(draws, -1)[:, :payload]
        received, rows = {}, []
        for det in detectors:
            d = det.detect(y, h, s)
            for i, it in enumerate(d.iterations):
                got = slicer.bits(d.x_hat[..., i, :])
                errors = (got.reshape(draws, -1)[:, :payload] != sent).sum(-1).cpu()  # [draws]
                img = bits_to_image(got[:blocks], image.shape, binary)
                received[(det.name, it)] = img
                exact = int((errors == 0).sum())
                low, high = clopper_pearson(exact, draws, confidence)
                rows.append(
                    {"detector": det.name, "iteration": it, **image_quality(image, img), "bit_errors": int(errors[0]),
                     "draws": draws, "exact_draws": exact, "exact_fraction": exact / draws, "exact_ci_low": low,
                     "exact_ci_high": high, "ber": float(errors.sum()) / (draws * payload)}
                )  # fmt: skip
    table = pd.DataFrame(rows)
    if reference is not None and (reference, 0) in received:
        ref = received[(reference, 0)]
        table["pixels_differing_from_reference"] = [
            image_quality(ref, received[(r.detector, r.iteration)])["wrong_pixels"] for r in table.itertuples()
        ]
    table.insert(0, "snr_db", snr_db)
    table.insert(1, "snr_type", link_cfg.snr_type)
    table["pixels"] = math.prod(image.shape[:2])
    table["bits"] = payload
    table["padding_bits"] = padding
    return ImageTransmission(image, received, table)


class ImageStudy:
    """The ``image`` section: one unit per sweep point, the image through every detector."""

    name: ClassVar[str] = "image"
    table: ClassVar[str] = "image"

    def units(self, point: SweepPoint) -> list[Unit]:
        return [section_unit(self.name, point, "image", derive_seed(point.seed, "image"))]

    def check(self, scenario: Scenario) -> None:
        """The point's image must decode (validation only checks that the file exists)."""
        cfg = scenario.image
        assert cfg is not None
        try:
            load_image(cfg)
        except Exception as exc:  # imageio/PIL raise many types for unreadable files
            raise ScenarioError(f"image.source: cannot read image file {cfg.source!r}: {exc}") from None

    def memory_bytes(self, scenario: Scenario) -> int:
        cfg, link = scenario.image, scenario.link
        assert cfg is not None
        h, w = cfg.size or load_image(cfg).shape[:2]  # check() has decoded it already
        bits = h * w * cfg.bits_per_pixel
        blocks = math.ceil(bits / (link.coherence_block * link.num_users * link.bits_per_symbol))
        return cfg.draws * (batch_bytes(scenario, blocks) + bits * 8 * (scenario.detectors.iterations + 2))

    def run(self, scenario: Scenario, unit: Unit, device: torch.device | str, progress: Progress | None) -> UnitResult:
        cfg = scenario.image
        assert cfg is not None
        result = transmit_image(
            load_image(cfg), scenario.link, make_detectors(scenario, unit.seed, device), cfg.snr_db,
            seed=unit.seed, device=device, reference=scenario.detectors.reference, binary=cfg.mode == "binary",
            draws=cfg.draws, confidence=scenario.monte_carlo.confidence,
        )  # fmt: skip
        arrays = {"original": result.original} | {f"{d}|{it}": img for (d, it), img in result.received.items()}
        return UnitResult(result.table, arrays)
