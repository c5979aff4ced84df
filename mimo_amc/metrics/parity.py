"""BER parity: when an iterative detector's BER is indistinguishable from a reference detector's."""

from __future__ import annotations

import pandas as pd


def parity_band(frame: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per SNR, the band of BER values indistinguishable from ``reference``.

    The band is the reference's confidence interval or +-10 % of its BER, whichever is
    wider; an iterative reference counts with its last iteration. Returns columns
    ``snr_db, ref_ber, band_low, band_high``.
    """
    ref = frame[frame.detector == reference].sort_values("iteration").groupby("snr_db", as_index=False).last()
    return pd.DataFrame(
        {
            "snr_db": ref.snr_db,
            "ref_ber": ref.ber,
            "band_low": ref.ber_ci_low.where(ref.ber_ci_low < 0.9 * ref.ber, 0.9 * ref.ber),
            "band_high": ref.ber_ci_high.where(ref.ber_ci_high > 1.1 * ref.ber, 1.1 * ref.ber),
        }
    )


def parity_iterations(frame: pd.DataFrame, detector: str, reference: str = "zf_fp32") -> pd.DataFrame:
    """Per SNR, the first iteration at which ``detector`` reaches BER parity with ``reference``.

    Parity means the detector's BER lies in :func:`parity_band` and stays there for every
    later reported iteration. ``parity_iteration`` is ``None`` when no iteration reaches it.

    Returns:
        Columns ``snr_db, ref_ber, parity_iteration`` plus, when present, the detector's
        ``nonconverged_fraction`` and ``slow_fraction``.
    """
    band = parity_band(frame, reference)
    rows = []
    for _, b in band.iterrows():
        det = frame[(frame.detector == detector) & (frame.snr_db == b.snr_db)].sort_values("iteration")
        inside = ((det.ber >= b.band_low) & (det.ber <= b.band_high)).to_list()
        first = None
        for i in range(len(inside)):
            if all(inside[i:]):
                first = int(det.iteration.iloc[i])
                break
        row = {"snr_db": b.snr_db, "ref_ber": b.ref_ber, "parity_iteration": first}
        for col in ("nonconverged_fraction", "slow_fraction"):
            if col in det and len(det):
                row[col] = det[col].iloc[0]
        rows.append(row)
    return pd.DataFrame(rows)


def bler_parity_iterations(frame: pd.DataFrame, detector: str, reference: str) -> pd.DataFrame:
    """:func:`parity_iterations` on a transport-block table (``bler``, ``bler_ci_low``, ``bler_ci_high``
    per ``detector, iteration, snr_db``: the ``pusch`` study's rows): the same columns with ``ref_bler``
    in place of ``ref_ber``."""
    as_ber = frame.rename(columns={"bler": "ber", "bler_ci_low": "ber_ci_low", "bler_ci_high": "ber_ci_high"})
    return parity_iterations(as_ber, detector, reference).rename(columns={"ref_ber": "ref_bler"})
