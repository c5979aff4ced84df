"""The study sections of a scenario: ``monte_carlo`` (the BER study), ``image``, ``precision``, ``cost``, ``pusch``.

Each optional section switches its study on (:mod:`mimo_amc.studies` runs them); the BER study runs
whenever ``link.snr_db`` is not empty. These classes are the schema only: nothing here reads an
image or measures anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..amc import CostConfig, Section
from ..amc.config import Fallback, OuterScheme
from ..amc.cost import AdaptiveLoad, ReceiverConfig

BUNDLED_IMAGES = (
    "camera", "astronaut", "coffee", "chelsea", "rocket", "moon", "coins", "page", "text", "brick", "grass",
    "gravel", "immunohistochemistry", "colorwheel", "logo", "horse",
)  # fmt: skip
"""Images shipped inside scikit-image (no download needed), usable by name."""


class MonteCarloConfig(Section):
    """Stopping rule and batch size of the BER loop."""

    realizations_per_batch: int = Field(64, ge=1, description="Channel realisations per batch (T uses each).")
    target_bit_errors: int = Field(200, ge=1, description="Stop once every row has this many bit errors.")
    max_bits: int = Field(2_000_000, ge=1, description="Or once this many bits were simulated per row.")
    seed: int = Field(0, ge=0, description="Scenario seed; every sweep point and SNR derives its own.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the BER intervals.")
    max_memory_gb: float | None = Field(
        None,
        gt=0,
        description="Memory budget of one unit, GiB: a scenario whose pre-run estimate of any unit exceeds it is "
        "refused before any work. None = half of this machine's memory. Changes no result.",
    )


class ImageConfig(Section):
    """The ``image`` section: an image sent over the link.

    Validation checks that the source names a bundled image or an existing file; it is decoded
    (and a bad file reported) when the run starts, before any unit is computed.

    Example:
        >>> ImageConfig(source="camera", size=[64, 64]).mode
        'gray'
        >>> ImageConfig(source="horse", size=[100, 100], mode="binary").bits_per_pixel
        1
    """

    source: str = Field("camera", description=f"A bundled image ({', '.join(BUNDLED_IMAGES)}) or a PNG/JPEG path.")
    size: list[int] | None = Field(
        None, min_length=2, max_length=2, description="Resize to [height, width] pixels (7..4096 each)."
    )
    mode: Literal["gray", "rgb", "binary"] = Field(
        "gray",
        description="Send one gray channel or three RGB channels (8 bits per pixel and channel), or a black/white "
        "image (gray thresholded at 128 after resizing, 1 bit per pixel: the paper's demo).",
    )
    snr_db: float = Field(20.0, ge=-60, le=100, description="SNR of the transmission (link.snr_type convention).")
    draws: int = Field(
        1,
        ge=1,
        le=10_000,
        description="Independent transmissions of the image, batched (fresh channels, noise and chip writes "
        "each): the table reports the fraction received without a single bit error, with its Clopper-Pearson "
        "interval (monte_carlo.confidence), and the BER over all draws; PSNR, SSIM and the figure show draw 0.",
    )
    show_iterations: list[int] | None = Field(
        None, description="Iterations shown in the figure (default: all); the table has every iteration."
    )

    @property
    def bits_per_pixel(self) -> int:
        """Bits sent per pixel: 1 (binary), 8 (gray) or 24 (RGB)."""
        return {"binary": 1, "gray": 8, "rgb": 24}[self.mode]

    @field_validator("source")
    @classmethod
    def _exists(cls, source: str) -> str:
        if source not in BUNDLED_IMAGES and not Path(source).is_file():
            raise ValueError(
                f"{source!r} is neither a bundled image ({', '.join(BUNDLED_IMAGES)}) nor an existing file"
            )
        return source

    @field_validator("size")
    @classmethod
    def _positive(cls, size: list[int] | None) -> list[int] | None:
        if size is not None and not (min(size) >= 7 and max(size) <= 4096):
            raise ValueError(f"size must be [height, width] of 7 (SSIM's window) to 4096 pixels each; got {size}")
        return size


def _even_sizes(sizes: list[int]) -> list[int]:
    for n in sizes:
        if n < 2 or n % 2:
            raise ValueError(f"sizes must be even numbers >= 2 (real forms of complex systems); got {n}")
    return sizes


RealSizes = Annotated[list[int], AfterValidator(_even_sizes)]
"""Sizes of real forms of complex systems: even numbers >= 2."""

Layout = Literal["blockamc", "monolithic"]
"""LP-INV layout: ``blockamc`` on the configured INV arrays, ``monolithic`` one ``n x n`` array."""


class AccuracyConfig(Section):
    """The ``precision`` section: solver accuracy per iteration on Rayleigh Gram systems.

    Example:
        >>> AccuracyConfig(sizes=[16, 32]).antenna_ratio
        16
    """

    systems: int = Field(256, ge=1, le=100_000, description="Systems per size.")
    sizes: RealSizes = Field(default_factory=lambda: [16], min_length=1, description="Real unknowns n (even).")
    antenna_ratio: int = Field(16, ge=1, le=256, description="M/K of the Rayleigh channel (16: 128x8 at n=16).")
    iterations: int = Field(10, ge=1, le=200)
    schemes: list[OuterScheme] = Field(default_factory=lambda: ["richardson"], min_length=1)
    layouts: list[Layout] = Field(default_factory=lambda: ["blockamc"], min_length=1)


class AdaptiveLoadConfig(Section):
    """What adaptive iterations measured on a link (one row of a BER study's ``tables/adaptive``)."""

    iterations_mean: float = Field(ge=1, le=1000, description="Analog iterations per solve, mean over solves.")
    outage_fraction: float = Field(ge=0, le=1, description="Solves handed to the fallback.")
    matrix_outage_fraction: float | None = Field(
        None, ge=0, le=1, description="Channel matrices with a fallen-back solve (None: outage_fraction)."
    )
    fallback: Fallback = Field(description="The fallback (amc.stopping.fallback).")
    fallback_iterations_mean: float = Field(
        0.0, ge=0, le=1000, description="Analog iterations of the fallback's re-solve per fallen-back solve."
    )

    def load(self) -> AdaptiveLoad:
        """The budget's :class:`~mimo_amc.amc.cost.AdaptiveLoad`."""
        return AdaptiveLoad(**self.model_dump())


class ReceiverLinkConfig(Section):
    """A link priced by the receiver budget with the iterations the BER studies measured on it."""

    name: str = Field(min_length=1, max_length=80, description="Label in tables, e.g. '128x8 Rayleigh, 10 dB'.")
    antennas: int = Field(ge=1, le=4096, description="Base-station antennas M (informative: the chip solves K x K).")
    users: int = Field(ge=1, le=1024, description="Layers K (n = 2K real unknowns).")
    bits_per_symbol: int = Field(8, ge=1, le=10, description="Bits per QAM symbol.")
    iterations: int = Field(ge=1, le=100, description="Fixed-K iterations (the measured parity iteration, or the cap).")
    adaptive: AdaptiveLoadConfig | None = Field(None, description="Measured adaptive iterations, or None.")
    amc: dict[str, Any] = Field(
        default_factory=dict, description="Chip changes on top of the scenario's amc (as a detector variant's)."
    )
    source: str = Field(min_length=1, max_length=300, description="Where the measured numbers come from.")


class CostStudyConfig(Section):
    """The ``cost`` section: analog cost per solve against digital solves measured on this machine.

    Example:
        >>> CostStudyConfig().sizes
        [8, 16, 32, 64, 128, 256]
    """

    model: CostConfig = Field(default_factory=CostConfig, description="Circuit and energy assumptions.")
    sizes: RealSizes = Field(
        default_factory=lambda: [8, 16, 32, 64, 128, 256],
        min_length=1,
        description="Real system sizes N (even, >= 2: N = 2K unknowns of a complex K-user system).",
    )
    iterations: int = Field(3, ge=1, le=100, description="HP-INV iterations per solve.")
    schemes: list[OuterScheme] = Field(default_factory=lambda: ["richardson"], min_length=1)
    layouts: list[Layout] = Field(default_factory=lambda: ["blockamc", "monolithic"], min_length=1)
    timings: list[Literal["fixed", "settling"]] = Field(default_factory=lambda: ["fixed", "settling"], min_length=1)
    digital_batches: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [256, 4096], min_length=1, description="Batch sizes of the digital measurements."
    )
    digital_dtype: Literal["float32", "float64"] = Field("float32", description="Digital series compared with.")
    bits_per_symbol: int = Field(8, ge=1, le=10, description="For detected bits/s: N = 2K real unknowns.")
    receiver: ReceiverConfig = Field(
        default_factory=ReceiverConfig, description="The uplink load of the receiver budget (writes included)."
    )
    receiver_links: list[ReceiverLinkConfig] = Field(
        default_factory=list,
        max_length=32,
        description="Links priced by the receiver budget with measured iterations (fixed K and adaptive).",
    )


class PUSCHChannelConfig(Section):
    """The ``pusch.channel`` section: a 3GPP channel from every UE to the base station.

    ``tdl`` and ``cdl`` are single-link models in Sionna: each UE gets its own independent link
    (``K`` links per slot). ``umi`` / ``uma`` drop the ``K`` UEs in one sector per slot.
    """

    model: Literal["tdl", "cdl", "umi", "uma"] = Field("tdl", description="TR 38.901 TDL, CDL, UMi or UMa.")
    profile: Literal["A", "B", "C", "D", "E"] = Field("C", description="TDL/CDL delay profile.")
    delay_spread_ns: float = Field(100.0, gt=0, le=10_000, description="TDL/CDL nominal delay spread.")
    ue_speed_mps: float = Field(0.0, ge=0, le=150, description="UE speed (Doppler within the slot).")
    carrier_frequency_hz: float = Field(3.5e9, ge=0.5e9, le=100e9)
    normalize: bool = Field(
        True, description="Normalise every UE's channel to unit energy per slot (ideal power control)."
    )
    o2i_model: Literal["low", "high"] = Field("low", description="UMi/UMa outdoor-to-indoor loss model.")


class PUSCHStudyConfig(Section):
    """The ``pusch`` section: a coded 5G NR PUSCH link (LDPC), TB error rate per detector and iteration.

    ``K`` single-layer UEs (DMRS ports ``0..K-1``) send one transport block each per slot to an
    ``M``-antenna base station. The project's detectors are the scenario's ``detectors`` section
    (names, analog variants, iterations), run by the grouped OFDM detector
    (:mod:`mimo_amc.detect.ofdm`); ``sionna_detectors`` run Sionna's own OFDM detectors on the same
    slots. The SNR is Es/N0 per receive antenna (``N0 = 10^(-snr/10)``, unit-energy REs).

    Example:
        >>> PUSCHStudyConfig(num_users=4, mcs_index=14).group_subcarriers
        1
    """

    num_rx_antennas: int = Field(16, ge=1, le=256, description="Base-station antennas M.")
    num_users: int = Field(4, ge=1, le=12, description="Single-layer UEs K (one DMRS port each).")
    num_prbs: int = Field(4, ge=1, le=273, description="Physical resource blocks (12 subcarriers each).")
    subcarrier_spacing_khz: Literal[15, 30, 60] = Field(30)
    mcs_index: int = Field(14, ge=0, le=28)
    mcs_table: int = Field(1, ge=1, le=4, description="TS 38.214 MCS table (1: 64-QAM, 2: 256-QAM, 3: low SE).")
    dmrs_config_type: Literal[1, 2] = Field(1)
    dmrs_length: Literal[1, 2] = Field(1)
    dmrs_additional_position: int = Field(1, ge=0, le=3)
    channel: PUSCHChannelConfig = Field(default_factory=PUSCHChannelConfig)
    csi: Literal["perfect", "ls"] = Field("perfect", description="Perfect CSI or Sionna's PUSCHLSChannelEstimator.")
    interpolation: Literal["nn", "lin", "lin_time_avg"] = Field("lin", description="LS estimator interpolation.")
    group_symbols: int = Field(1, ge=1, le=14, description="OFDM symbols per coherence group (one chip write).")
    group_subcarriers: int = Field(1, ge=1, description="Subcarriers per coherence group (one chip write).")
    sionna_detectors: list[Literal["lmmse", "zf", "kbest", "ep"]] = Field(
        default_factory=lambda: ["lmmse"], description="Sionna OFDM detectors run on the same slots (references)."
    )
    reference: Literal["lmmse", "zf", "kbest", "ep"] = Field("lmmse", description="The BLER parity reference.")
    kbest_k: int = Field(16, ge=1, le=1024, description="List size of the K-best detector.")
    precision: Literal["single", "double"] = Field(
        "single",
        description="Precision of the Sionna blocks (transmitter, channel, estimator, Sionna detectors, decoder).",
    )
    soft_outputs: list[Literal["exact", "residual"]] = Field(
        default_factory=lambda: ["exact"],
        min_length=1,
        description="Effective noise of the analog detectors' LLRs, each decoded from the same detection: "
        "'exact' (the exact detector's, from a digital inverse), 'residual' (calibrated from the chip alone: its "
        "estimates of diag(A^-1) and of each iterate's solver error; rows named <detector>_calibrated).",
    )
    snr_db: list[float] = Field(default_factory=lambda: [0.0, 5.0, 10.0], min_length=1)
    slots_per_batch: int = Field(16, ge=1, le=4096)
    max_slots: int = Field(256, ge=1, description="Stop after this many slots per SNR point...")
    target_block_errors: int = Field(100, ge=1, description="...or once every row has this many TB errors.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the BLER intervals.")

    @model_validator(mode="after")
    def _check(self) -> PUSCHStudyConfig:
        ports = {(1, 1): 4, (1, 2): 8, (2, 1): 6, (2, 2): 12}[(self.dmrs_config_type, self.dmrs_length)]
        if self.num_users > ports:
            raise ValueError(
                f"num_users = {self.num_users} needs as many DMRS ports; dmrs_config_type {self.dmrs_config_type} "
                f"with dmrs_length {self.dmrs_length} has {ports}"
            )
        if self.num_users > self.num_rx_antennas:
            raise ValueError(f"num_users ({self.num_users}) must not exceed num_rx_antennas ({self.num_rx_antennas})")
        if 14 % self.group_symbols or (12 * self.num_prbs) % self.group_subcarriers:
            raise ValueError(
                f"group_symbols ({self.group_symbols}) must divide 14 and group_subcarriers "
                f"({self.group_subcarriers}) must divide the {12 * self.num_prbs} subcarriers"
            )
        if self.reference not in self.sionna_detectors:
            raise ValueError(f"reference {self.reference!r} is not among sionna_detectors {self.sionna_detectors}")
        for i, v in enumerate(self.snr_db):
            if not -30 <= v <= 60 or v in self.snr_db[:i]:
                raise ValueError(f"snr_db[{i}] = {v} dB: give distinct SNR points in [-30, 60] dB")
        return self
