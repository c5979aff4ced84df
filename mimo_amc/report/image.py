"""The image study's section: image quality per detector and iteration, and the image grid figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..scenario import ITERATION_NOTE, Scenario
from ..studies import STUDIES
from .common import ReportContext, Section, by_point, new_figure, point_label, save_figure, write_table


def image_table(images: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Image quality per point, detector and iteration (PSNR "lossless" for an exact copy; quality of draw 0,
    exact recovery over every draw)."""
    rows = []
    for _, f in by_point(images):
        for _, r in f.iterrows():
            rows.append(
                {
                    "point": point_label(f, scenario),
                    "detector": r.detector,
                    "iteration": r.iteration,
                    "snr_db": r.snr_db,
                    "psnr_db": "lossless" if r.lossless else f"{r.psnr_db:.2f}",
                    "ssim": round(float(r.ssim), 4),
                    "wrong_pixels": int(r.wrong_pixels),
                    "wrong_pixels_pct": round(100 * r.wrong_pixels / r.pixels, 3),
                    "bit_errors": int(r.bit_errors),
                    "pixels_differing_from_reference": r.get("pixels_differing_from_reference"),
                    **_draws(r),
                }
            )
    return pd.DataFrame(rows)


def _draws(row: pd.Series) -> dict[str, object]:
    """Exact recovery over the draws and the BER over all of them (tables written before draws existed have none).

    Example:
        >>> _draws(pd.Series({"draws": 200, "exact_draws": 184, "exact_fraction": 0.92, "exact_ci_low": 0.873,
        ...                   "exact_ci_high": 0.954, "ber": 4.4e-4}))
        {'exact_draws': '184/200 (92.0 % [87.3, 95.4])', 'ber_all_draws': 0.00044}
    """
    if pd.isna(row.get("draws")):
        return {}
    share = f"{100 * row.exact_fraction:.1f} % [{100 * row.exact_ci_low:.1f}, {100 * row.exact_ci_high:.1f}]"
    return {"exact_draws": f"{int(row.exact_draws)}/{int(row.draws)} ({share})", "ber_all_draws": float(row.ber)}


def plot_image_grid(
    points: list[tuple[str, Scenario, object, dict, pd.DataFrame]], path: Path, formats: list[str]
) -> None:
    """One row per sweep point and iterative detector: original, reference, every shown iteration.

    ``points``: ``(label, resolved scenario, original image, {(detector, iteration): image}, quality rows)``.
    """
    rows = []
    for label, scenario, original, received, table in points:
        quality = {(r.detector, int(r.iteration)): r for _, r in table.iterrows()}
        reference = (scenario.detectors.reference, 0)
        shown = scenario.image.show_iterations if scenario.image else None
        head = [("original", original, None)]
        if reference in received:
            head.append((reference[0], received[reference], quality[reference]))
        iterative = sorted({d for d, it in received if it > 0})
        for det in iterative or [None]:
            keys = [k for k in sorted(received) if k != reference and (det is None or k[0] == det)]
            keys = [k for k in keys if shown is None or k[1] in shown or k[1] == 0]
            panels = head + [(f"{d} it. {it}" if it else d, received[(d, it)], quality[(d, it)]) for d, it in keys]
            rows.append((label, original.ndim == 2, panels))
    cols = max(len(p) for _, _, p in rows)
    fig, axes = new_figure(len(rows), cols, figsize=(2.1 * cols, 2.4 * len(rows)))
    for ax_row, (label, gray, panels) in zip(axes, rows, strict=True):
        for ax in ax_row:
            ax.axis("off")
        for ax, (title, img, q) in zip(ax_row, panels, strict=False):
            ax.imshow(img, cmap="gray" if gray else None, vmin=0, vmax=255)
            if q is not None:
                psnr = "lossless" if q.lossless else f"PSNR {q.psnr_db:.1f} dB"
                title = f"{title}\n{psnr}, SSIM {q.ssim:.3f}"
            ax.set_title(title, fontsize=7)
        ax_row[0].set_title("original\n" + label.replace(", ", "\n"), fontsize=6)
    save_figure(fig, path, formats, dpi=100)


def received_images(arrays: dict) -> tuple[object, dict[tuple[str, int], object]]:
    """``(original, {(detector, iteration): image})`` from an image unit's stored arrays."""
    received = {}
    for name, img in arrays.items():
        if name != "original":
            det, it = name.rsplit("|", 1)
            received[(det, int(it))] = img
    return arrays["original"], received


def section(ctx: ReportContext) -> Section | None:
    """Image-quality table and the grid of received images."""
    rows = ctx.store.table("image")
    if rows.empty:
        return None
    caption = f"Image recovery per detector and iteration; {ITERATION_NOTE}."
    text = write_table(image_table(rows, ctx.scenario), ctx.directory / "tables" / "image", caption)
    grid = []
    for p in ctx.points:
        units = [u for u in STUDIES["image"].units(p) if ctx.store.has(u)] if p.scenario.image else []
        for unit in units:
            mine = rows[rows.point == p.index]
            grid.append((point_label(mine, ctx.scenario), p.scenario, *received_images(ctx.store.arrays(unit)), mine))
    plot_image_grid(grid, ctx.directory / "figures" / "image_grid", ctx.formats)
    return Section([("Image recovery", text)], ["figures/image_grid.png"])
