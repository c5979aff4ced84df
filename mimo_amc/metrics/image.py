"""Image quality of a received image against the sent one: PSNR, SSIM, bit errors, wrong pixels."""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def image_quality(original: np.ndarray, received: np.ndarray) -> dict[str, float | int | bool]:
    """PSNR (NaN when lossless), lossless flag, SSIM, bit errors and wrong pixels of uint8 images.

    A pixel is wrong if any of its channels differs; PSNR uses peak 255.

    Example:
        >>> a = np.zeros((8, 8), np.uint8)
        >>> image_quality(a, a)["lossless"], image_quality(a, a + 1)["wrong_pixels"]
        (True, 64)
    """
    lossless = bool(np.array_equal(original, received))
    psnr = math.nan if lossless else float(peak_signal_noise_ratio(original, received, data_range=255))
    channel_axis = -1 if original.ndim == 3 else None
    ssim = float(structural_similarity(original, received, data_range=255, channel_axis=channel_axis))
    diff = original != received
    wrong = int((diff.any(axis=-1) if original.ndim == 3 else diff).sum())
    bit_errors = int(np.unpackbits(np.bitwise_xor(original, received)).sum())
    return {"psnr_db": psnr, "lossless": lossless, "ssim": ssim, "bit_errors": bit_errors, "wrong_pixels": wrong}
