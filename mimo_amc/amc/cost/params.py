"""Every assumption of the circuit cost model, each a named field with its unit and source.

:class:`CostConfig` holds them; :func:`assumption_rows` lists them (with the chip fields the model
prices and a few derived values) for the assumptions table of a report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from ..config import Section, SolverConfig

MEASURED_GBWP_HZ = 16e6
"""Op-amp gain-bandwidth product of the measured-class ("slow") op-amp [Brief]."""

FAST_GBWP_HZ = 300e6
"""Op-amp gain-bandwidth product of the "fast" op-amp of the paper's projection [Brief]."""

OPAMPS: Mapping[str, float] = {"slow": MEASURED_GBWP_HZ, "fast": FAST_GBWP_HZ}
"""Default op-amp variants evaluated by :func:`comparison_table` (label -> GBWP in Hz)."""


def _param(default: Any, unit: str, description: str, **constraints: Any) -> Any:
    """A documented field whose unit is kept for :func:`assumptions_markdown`."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **constraints)


class CostConfig(Section):
    """Every assumption of the cost model, with its unit and source.

    Sources: [Zuo25] Zuo et al., Nature Electronics 8, 1222 (2025); [Brief]
    ``shared/paper-brief.md``; [Sun20] Sun et al., IEEE TED 2020 (arXiv:2005.04530);
    [Murmann] B. Murmann, "ADC Performance Survey 1997-2025",
    https://github.com/bmurmann/ADC-survey (FoM definitions and ranges); [Horowitz14]
    M. Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V energies); [aihwkit-CMO]
    aihwkit ``ReRamCMONoiseModel`` (docs/source/reram_inference.rst: programming error after write-
    verify 1.0687 g + 0.811 nS at a 0.2 % acceptance range, 11.29 g + 11.2 nS at 2 %); [StanfordRRAM]
    Jiang et al., Stanford RRAM Verilog-A model, nanoHUB DOI 10.4231/D37H1DN48 (pulse netlist: SET
    1.8 V, RESET -1.3 V, 100 ns pulses); [Lee11] M.-J. Lee et al., Nature Materials 10, 625 (2011)
    (TaOx bilayer, 1e12 switching cycles); [Grossi19] A. Grossi et al., IEEE TED 66, 1281 (2019)
    (array-level RRAM endurance far below single-device figures).
    "Assumption" marks a value chosen here, not measured or published for this chip.

    Example:
        >>> CostConfig().gbwp_hz, CostConfig(gbwp_hz=FAST_GBWP_HZ).lpinv_fixed_s
        (16000000.0, 1.2e-07)
    """

    # --- timing -------------------------------------------------------------------------
    timing: Literal["settling", "fixed"] = _param(
        "settling",
        "-",
        "How operation times are obtained: 'settling' from the op-amp dynamics [Sun20], "
        "'fixed' uses the paper's measured per-operation times (GBWP then only sets op-amp power).",
    )
    gbwp_hz: float = _param(
        MEASURED_GBWP_HZ,
        "Hz",
        "Op-amp gain-bandwidth product, single pole [Brief: 16 MHz measured-class, 300 MHz 'fast'; evaluate both].",
        gt=0,
    )
    lpinv_fixed_s: float = _param(
        120e-9,
        "s",
        "Fixed-time mode: one LP-INV (INV array) operation, conversions included [Zuo25/Brief: ~120 ns measured].",
        gt=0,
    )
    mvm_fixed_s: float = _param(
        60e-9,
        "s",
        "Fixed-time mode: one analog MVM step (BlockAMC MVM or one HP-MVM read), conversions included "
        "[Zuo25/Brief: ~60 ns measured].",
        gt=0,
    )
    lpinv_rate: float = _param(
        0.36,
        "-",
        "Settling mode: lambda = min Re eig(D^-1 G + I/A0) assumed for every INV array. Measured with "
        "lpinv_settling on 500 programmed equilibrated 128x8 i.i.d. Rayleigh Gram matrices (real 16x16, "
        "BlockAMC on 8x8, default SolverConfig): 10th percentile of the per-matrix slowest array 0.36, "
        "median 0.42 (16x4: median 0.21, 64x16: 0.28). Assumption: the chip allows the 10th-percentile time.",
        gt=0,
    )
    input_conductance_us: float = _param(
        0.0,
        "uS",
        "Conductance through which the input reaches each INV row node; it adds to D. Assumption: 0 = "
        "ideal current input (a 35 uS input resistor slows 128x8 Gram arrays about 1.6x).",
        ge=0,
    )
    mvm_noise_gain: float = _param(
        2.0,
        "-",
        "Settling mode: noise gain 1 + G_line / G_f of the open-loop MVM's transimpedance amplifiers; "
        "settling takes noise_gain ln(2^bits) / (2 pi GBWP). Assumption: G_f sized to the line's "
        "total conductance so that the largest partial sum reaches full scale.",
        ge=1,
    )
    dac_settling_s: float = _param(1e-9, "s", "Settling mode: DAC output settling per operation (assumption).", ge=0)
    adc_time_per_bit_s: float = _param(
        0.5e-9,
        "s",
        "Settling mode: SAR ADC, one comparator cycle per bit (assumption: an 8-bit conversion in 4 ns, "
        "~250 MS/s, mid-range in [Murmann]).",
        ge=0,
    )
    hpmvm_schedule: Literal["parallel", "digit_serial", "serial"] = _param(
        "parallel",
        "-",
        "HP-MVM read schedule: 'parallel' = every (slice, input digit, tile) read at once on its own array "
        "(one MVM time, as in the paper's arithmetic); 'digit_serial' = slices and tiles in parallel, input "
        "digits one after another (T times); 'serial' = one array read at a time (S T tiles^2 times).",
    )
    # --- energy -------------------------------------------------------------------------
    adc_walden_fom_j: float = _param(
        10e-15,
        "J/conv-step",
        "ADC Walden FoM, E = FoM 2^bits [Murmann: FoM_W = P/(fs 2^ENOB)]. Assumption: 10 fJ, a mid-range "
        "SAR value (state of the art ~1 fJ); ENOB = nominal bits.",
        gt=0,
    )
    adc_schreier_fom_db: float = _param(
        175.0,
        "dB",
        "ADC Schreier FoM, thermal-noise bound E = 10^((6.02 bits + 1.76 - FoM_S)/10) / 2 (Nyquist); "
        "E = max(Walden, Schreier) [Murmann: FoM_S = SNDR + 10 log10(fs/2/P)]. Assumption: 175 dB "
        "(state of the art ~185 dB).",
        gt=0,
    )
    dac_unit_energy_j: float = _param(
        1e-15,
        "J/level",
        "DAC energy per conversion = unit energy x 2^bits (capacitive DAC, ~1 fF at ~1 V per unit "
        "element; assumption).",
        ge=0,
    )
    supply_v: float = _param(1.1, "V", "Analog supply of op-amps (assumption: 40 nm core supply).", gt=0)
    opamp_load_f: float = _param(
        1e-12,
        "F",
        "Op-amp load capacitance (array line + ADC input; assumption). Power follows from GBWP: gm = 2 pi GBWP C_L.",
        gt=0,
    )
    opamp_gm_over_id: float = _param(
        15.0, "1/V", "Input-pair transconductance efficiency gm/Id (moderate inversion; assumption).", gt=0
    )
    opamp_current_factor: float = _param(
        2.0,
        "-",
        "Total op-amp current / input-pair current (output stage and bias; assumption). Static power "
        "P = supply_v x factor x 2 pi GBWP C_L / (gm/Id).",
        ge=1,
    )
    lpinv_opamps_per_row: int = _param(
        2,
        "-",
        "Op-amps per INV row: the loop amplifier and the inverter that drives the G- devices with -v "
        "[Sun PNAS 2019 circuit for signed matrices].",
        ge=1,
    )
    mvm_opamps_per_output: int = _param(
        1,
        "-",
        "Transimpedance amplifiers per MVM output line (G+ and G- currents subtracted at its input; assumption).",
        ge=1,
    )
    read_voltage_v: float = _param(
        0.2, "V", "Full-scale voltage across a device during analog operation [Brief: 0.1-0.2 V].", gt=0
    )
    voltage_mean_square: float = _param(
        1 / 3,
        "-",
        "Mean of (V / read_voltage)^2 over devices and time (1/3 = uniform on [-1, 1]; assumption).",
        ge=0,
        le=1,
    )
    mean_level_fraction: float = _param(
        0.5,
        "-",
        "Mean |digit| / L of programmed cells: a pair conducts 2 g_min + fraction (g_max - g_min) on "
        "average (assumption; array read energy V^2 G t).",
        ge=0,
        le=1,
    )
    # --- digital ------------------------------------------------------------------------
    digital_clock_hz: float = _param(1e9, "Hz", "Clock of the on-chip digital unit (assumption).", gt=0)
    digital_lanes: int = _param(
        16, "-", "Parallel lanes of the digital unit: a length-n vector op takes ceil(n / lanes) cycles.", ge=1
    )
    vector_ops_per_iteration: int = _param(
        3,
        "-",
        "Digital vector passes per iteration besides dot products: x update, residual b - Ax, max|r| "
        "rescaling (Richardson; Krylov schemes add axpys not counted here).",
        ge=0,
    )
    int_add_energy_j: float = _param(
        0.1e-12, "J", "32-bit integer add: HP-MVM shift-and-add, per partial sum [Horowitz14].", ge=0
    )
    fp_add_energy_j: float = _param(0.9e-12, "J", "fp32 add, per vector element and pass [Horowitz14].", ge=0)
    fp_mac_energy_j: float = _param(
        4.6e-12, "J", "fp32 multiply-add (3.7 + 0.9 pJ), per dot-product element [Horowitz14].", ge=0
    )
    # --- writing (write-verify; see mimo_amc.amc.cost.write) ------------------------------
    write_first_sigma: float = _param(
        0.1,
        "-",
        "Programming error after the first (unverified) pulse, std as a fraction of g_max. Assumption: "
        "10 %, the order of one-shot multilevel RRAM spreads (CrossSim RRAMMilo after programming: "
        "1.2-8.7 %). No published count of write-verify pulses per tolerance was found to calibrate this "
        "and write_verify_shrink against (NeuRRAM, Wan et al. Nature 2022, Ext. Data Fig. 3f, shows the "
        "distribution only as a figure; aihwkit's CMO model states that a narrower acceptance range takes "
        "more iterations, without a number).",
        gt=0,
        le=1,
    )
    write_verify_shrink: float = _param(
        0.5,
        "-",
        "Factor by which each further verify-and-correct pulse shrinks the error (assumption: 0.5, an "
        "adaptive-step write-verify that halves its correction each cycle, one bit per pulse).",
        gt=0,
        lt=1,
    )
    write_pulse_s: float = _param(
        100e-9, "s", "Width of one SET/RESET programming pulse [StanfordRRAM: 100 ns pulses].", gt=0
    )
    write_voltage_v: float = _param(
        1.8, "V", "Programming pulse amplitude [StanfordRRAM: SET 1.8 V (RESET -1.3 V)].", gt=0
    )
    verify_read_s: float = _param(
        60e-9,
        "s",
        "One verify read of a row (all its columns sensed at once), conversions included. Assumption: "
        "one analog MVM read time [Zuo25/Brief: ~60 ns].",
        gt=0,
    )
    write_rows_parallel: int = _param(
        1,
        "-",
        "Rows of one array written at once (1T1R: one word line selected, every column driven on its "
        "own bit line; assumption). Every array of the chip has its own drivers and writes concurrently.",
        ge=1,
    )
    endurance_cycles: float = _param(
        1e12,
        "cycles",
        "Programming pulses a cell survives [Lee11: 1e12 for TaOx bilayers]. Multilevel write-verify "
        "in arrays endures far fewer [Grossi19]; sweep down to 1e6.",
        gt=0,
    )


SOLVER_FIELDS: tuple[tuple[str, str], ...] = (
    ("device.bits", "bit"),
    ("device.g_min_us", "uS"),
    ("device.g_max_us", "uS"),
    ("lpinv.prog_sigma", "-"),
    ("hpmvm.prog_sigma", "-"),
    ("lpinv.array_size", "-"),
    ("lpinv.opamp_gain", "-"),
    ("lpinv.converters.dac_bits", "bit"),
    ("lpinv.converters.adc_bits", "bit"),
    ("hpmvm.num_slices", "-"),
    ("hpmvm.array_size", "-"),
    ("hpmvm.input_digit_bits", "bit"),
    ("hpmvm.input_slices", "-"),
    ("hpmvm.adc_bits", "bit"),
    ("outer", "-"),
)
"""The chip fields (dotted paths into :class:`SolverConfig`) that the cost model prices, with units."""


class ReceiverConfig(Section):
    """The uplink load a receiver budget is priced for (:mod:`mimo_amc.amc.cost.receiver`).

    Defaults: a 100 MHz NR carrier at 30 kHz subcarrier spacing (273 PRB = 3,276 subcarriers, 0.5 ms
    slots of 14 OFDM symbols; 3GPP TS 38.101-1 / TS 38.211, as in ``shared/receiver-notes.md``) at
    3.5 GHz (n78).
    """

    subcarriers: int = Field(3276, ge=1, le=1_000_000, description="Subcarriers detected [273 PRB x 12].")
    symbols_per_slot: int = Field(14, ge=1, le=100, description="OFDM symbols per slot, each one solve [NR].")
    slot_s: float = Field(0.5e-3, gt=0, le=1, description="Slot duration, s [NR, 30 kHz].")
    carrier_hz: float = Field(3.5e9, gt=0, le=1e12, description="Carrier frequency, Hz [n78].")
    subcarriers_per_gram: list[int] = Field(
        default_factory=lambda: [1, 12],
        min_length=1,
        description="Subcarriers sharing one Gram matrix: 1 = per subcarrier, 12 = per PRB.",
    )
    speeds_kmh: list[float] = Field(
        default_factory=lambda: [0.0, 3.0, 30.0, 120.0, 500.0],
        min_length=1,
        description="UE speeds, km/h (static, pedestrian, urban, highway, high-speed train).",
    )

    @field_validator("subcarriers_per_gram", "speeds_kmh")
    @classmethod
    def _positive(cls, values: list[float]) -> list[float]:
        if any(v < 0 for v in values):
            raise ValueError(f"every value must be >= 0 (speeds) or >= 1 (subcarriers); got {values}")
        return values


RECEIVER_UNITS: dict[str, str] = {
    "subcarriers": "-", "symbols_per_slot": "-", "slot_s": "s", "carrier_hz": "Hz", "subcarriers_per_gram": "-",
    "speeds_kmh": "km/h",
}  # fmt: skip
"""Units of the :class:`ReceiverConfig` fields in the assumptions table."""


def assumption_rows(
    cost: CostConfig, solver: SolverConfig, receiver: ReceiverConfig | None = None
) -> list[dict[str, Any]]:
    """Every assumption as ``{name, value, unit, source}``: the :class:`CostConfig` fields, the chip fields the
    model prices (``solver.*``) and, when given, the receiver budget's load (``receiver.*``).

    Example:
        >>> rows = assumption_rows(CostConfig(), SolverConfig())
        >>> rows[1]["name"], rows[1]["value"], rows[1]["unit"]
        ('gbwp_hz', 16000000.0, 'Hz')
    """
    rows = []
    for name, info in CostConfig.model_fields.items():
        extra = info.json_schema_extra
        unit = extra["unit"] if isinstance(extra, dict) else "-"
        rows.append({"name": name, "value": getattr(cost, name), "unit": unit, "source": info.description})
    for path, unit in SOLVER_FIELDS:
        model: Any = solver
        *parents, leaf = path.split(".")
        for p in parents:
            model = getattr(model, p)
        info = type(model).model_fields[leaf]
        rows.append({"name": f"solver.{path}", "value": getattr(model, leaf), "unit": unit, "source": info.description})
    for name, info in ReceiverConfig.model_fields.items() if receiver is not None else ():
        unit = RECEIVER_UNITS[name]
        rows.append(
            {"name": f"receiver.{name}", "value": getattr(receiver, name), "unit": unit, "source": info.description}
        )
    return rows
