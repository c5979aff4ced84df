"""Krylov outer iterations (flexible CG, flexible GMRES) on the same analog primitives as HP-INV."""

from __future__ import annotations

import pytest
import torch
from helpers import rayleigh_gram, relative_error

from mimo_amc.amc import (
    AnalogSolver,
    HPMVMConfig,
    LPINVConfig,
    OperationCounts,
    SolverConfig,
    operation_counts,
    schemes,
)

KRYLOV = ("fcg", "fgmres")
LOOPS = {"richardson": schemes.richardson, "fcg": schemes.flexible_cg, "fgmres": schemes.flexible_gmres}


def _rhs(a: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(a.shape[:-1], generator=g, dtype=torch.float64)
    return x, (a @ x.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("outer", KRYLOV)
@pytest.mark.parametrize("m, k, array_size", [(128, 8, 8), (128, 8, 64), (256, 16, 8), (256, 16, 64)])
def test_ideal_mode_equals_linalg_solve(outer, m, k, array_size):
    """16x16 and 32x32 real systems, monolithic or BlockAMC: the final iterate is the float64 solve."""
    a = rayleigh_gram(16, m, k, seed=1)
    _, b = _rhs(a, seed=2)
    cfg = SolverConfig(ideal=True, outer=outer, lpinv=LPINVConfig(array_size=array_size))
    res = AnalogSolver(cfg, device="cpu", seed=0).solve(a, b, 4)
    assert relative_error(res.solution, torch.linalg.solve(a, b)).max() < 1e-10
    assert res.converged.all()


@pytest.fixture(scope="module")
def paper_errors() -> dict[str, torch.Tensor]:
    """Relative errors ``[256, 10]`` per scheme on 256 real forms of 128x8 Rayleigh Gram matrices (the
    systems, right-hand sides and solver seed of ``test_solver.py::test_paper_precision_curve``)."""
    a = rayleigh_gram(256, 128, 8, seed=10)
    x, b = _rhs(a, seed=11)
    errors = {}
    for outer in LOOPS:
        res = AnalogSolver(SolverConfig(outer=outer), device="cpu", seed=12).solve(a, b, 10)
        assert not res.overflow.any()
        errors[outer] = relative_error(res.iterates, x.unsqueeze(-2))
    return errors


def _median(errors: torch.Tensor) -> torch.Tensor:
    return errors.median(dim=0).values


def test_fcg_accelerates_hpinv_on_16x16_systems(paper_errors):
    """Default device parameters, same seeds. Measured medians (iterations 1..10):

    richardson 1.26e-1 2.05e-2 3.89e-3 7.37e-4 1.49e-4 3.01e-5 6.22e-6 1.37e-6 3.19e-7 1.15e-7
    fcg        1.16e-1 1.27e-2 1.31e-3 1.33e-4 1.34e-5 1.39e-6 1.62e-7 8.87e-8 8.82e-8 9.00e-8

    fcg gains ~3.3 bits per iteration (Richardson ~2.3) and meets the 24-bit HP-MVM floor (~9e-8)
    at iteration 8 instead of ~11. At iteration 3 it is 3.0x better, not 4x: see
    :func:`test_iteration_3_gain_is_limited_by_the_krylov_degree`.
    """
    rich, fcg = _median(paper_errors["richardson"]), _median(paper_errors["fcg"])
    assert fcg[9] <= rich[9]
    assert 2.5 * fcg[2] <= rich[2]
    assert 4 * fcg[3] <= rich[3]
    assert fcg[7] <= 2e-7 < rich[7]


def test_fgmres_accelerates_hpinv_on_16x16_systems(paper_errors):
    """Measured medians (iterations 1..10):

    fgmres     1.16e-1 1.29e-2 1.35e-3 1.29e-4 1.20e-5 1.09e-6 1.27e-7 8.57e-8 8.53e-8 8.53e-8

    Within a few percent of fcg: the preconditioned matrices are nearly symmetric.
    """
    rich, fgmres = _median(paper_errors["richardson"]), _median(paper_errors["fgmres"])
    assert fgmres[9] <= rich[9]
    assert 2.5 * fgmres[2] <= rich[2]
    assert fgmres[7] <= 2e-7 < rich[7]


def test_iteration_3_gain_is_limited_by_the_krylov_degree(paper_errors):
    """x_3 of every scheme lies in a Krylov space of degree 3, so on a preconditioned spectrum in
    ``[1 - rho, 1 + rho]`` the best worst-case gain over Richardson's ``rho^3`` is
    ``rho^3 T_3(1/rho) = 4 - 3 rho^2 < 4`` (Chebyshev). Exact digital FCG with the programmed
    linear preconditioner ``A0~^-1`` (no read noise, no converters, exact ``A``) gains 3.1x at
    iteration 3, and the analog FCG stays within 10 % of it: the analog noise is not what keeps
    the gain below 4x.
    """
    a = rayleigh_gram(256, 128, 8, seed=10)
    x, b = _rhs(a, seed=11)
    system = AnalogSolver(SolverConfig(), device="cpu", seed=12).program(a)  # same programming errors
    precondition = system.lpinv.linear_operator()

    def digital(outer: str) -> torch.Tensor:
        z, _ = LOOPS[outer](
            lambda r: precondition @ r, lambda v: system.equilibrated @ v, (system.scaling * b).unsqueeze(-1), 3
        )
        return _median(relative_error(system.scaling.unsqueeze(-2) * z[..., 0], x.unsqueeze(-2)))

    rich, fcg = digital("richardson"), digital("fcg")
    assert 2.5 < rich[2] / fcg[2] < 4.0
    assert abs(_median(paper_errors["fcg"])[2] / fcg[2] - 1) < 0.1


def test_default_richardson_is_the_paper_loop():
    """``outer="richardson"`` keeps the HP-INV numbers bit for bit (same seed, same draws)."""
    a = rayleigh_gram(8, 32, 4, seed=40)
    _, b = _rhs(a, seed=41)
    res = AnalogSolver(device="cpu", seed=7).solve(a, b)
    system = AnalogSolver(device="cpu", seed=7).program(a)
    b_eq = system.scaling.unsqueeze(-1) * b.unsqueeze(-1)
    z, r, iterates = torch.zeros_like(b_eq), b_eq, []
    for _ in range(10):
        z = z + system.lpinv(r)
        r = b_eq - system.hpmvm(z)
        iterates.append(system.scaling * z[..., 0])
    assert torch.equal(res.iterates, torch.stack(iterates, dim=-2))


@pytest.mark.parametrize("outer", KRYLOV)
def test_richardson_diverging_system_is_solved_with_finite_iterates(outer):
    """[[1, .93], [.93, .9]] rounds to an indefinite 3-bit array (contraction >= 1, Richardson
    diverges). The matrix itself is SPD: the line search / residual minimisation still converges,
    and 30 iterations on a 2x2 system run the Krylov space dry (Arnoldi norms shrink to breakdown)."""
    a = torch.tensor([[1.0, 0.93], [0.93, 0.9]], dtype=torch.float64)
    quiet = SolverConfig(
        outer=outer,
        equilibrate=False,
        lpinv=LPINVConfig(prog_sigma=0.0, read_noise=0.0),
        hpmvm=HPMVMConfig(prog_sigma=0.0, read_noise_lsb=0.0),
    )
    b = torch.tensor([1.0, -1.0], dtype=torch.float64)
    res = AnalogSolver(quiet, device="cpu", seed=0).solve(a, b, 30)
    assert float(res.contraction) >= 1.0 and not bool(res.converged)
    assert not bool(res.overflow)
    assert torch.isfinite(res.iterates).all() and torch.isfinite(res.residual_norms).all()
    assert res.residual_norms[-1] < 1e-5
    assert relative_error(res.solution, torch.linalg.solve(a, b)) < 1e-5


@pytest.mark.parametrize("outer", KRYLOV)
def test_zero_rhs_and_singular_array_break_down_cleanly(outer):
    """b = 0 (every denominator is 0; the LP-INV's converters turn a zero input into NaN) and a
    singular programmed array (LP-INV output 0) give zero iterates, no NaN, no overflow."""
    a = rayleigh_gram(4, 32, 4, seed=50)
    res = AnalogSolver(SolverConfig(outer=outer), device="cpu", seed=0).solve(
        a, torch.zeros(4, 8, dtype=torch.float64), 5
    )
    assert torch.equal(res.iterates, torch.zeros_like(res.iterates))
    assert torch.equal(res.residual_norms, torch.zeros_like(res.residual_norms))
    assert not res.overflow.any()

    singular = torch.tensor([[1.0, 0.98], [0.98, 1.0]], dtype=torch.float64)
    quiet = SolverConfig(outer=outer, lpinv=LPINVConfig(prog_sigma=0.0, read_noise=0.0, opamp_gain=None))
    res = AnalogSolver(quiet, device="cpu", seed=0).solve(singular, torch.tensor([1.0, 0.0], dtype=torch.float64))
    assert bool(res.singular) and not bool(res.overflow)
    assert torch.equal(res.iterates, torch.zeros_like(res.iterates))


@pytest.mark.parametrize("outer", KRYLOV)
def test_multiple_right_hand_sides_get_their_own_scalars(outer):
    """``b [B, R, n]``: solving the R columns at once equals solving them one by one on the same
    programmed arrays (read noise off so both runs see the same LP-INV; columns scaled 1, 1e3, 1e-3
    so any scalar shared between columns would show), and the noisy solve is accurate."""
    a = rayleigh_gram(8, 32, 4, seed=30)
    g = torch.Generator().manual_seed(31)
    b = torch.randn(8, 3, 8, generator=g, dtype=torch.float64) * torch.tensor([1.0, 1e3, 1e-3])[:, None]
    quiet = SolverConfig(outer=outer, lpinv=LPINVConfig(read_noise=0.0), hpmvm=HPMVMConfig(read_noise_lsb=0.0))
    system = AnalogSolver(quiet, device="cpu", seed=0).program(a)
    joint = system.solve(b, 6)
    assert joint.iterates.shape == (8, 3, 6, 8) and joint.residual_norms.shape == (8, 3, 6)
    for c in range(3):
        alone = system.solve(b[:, c], 6)
        assert relative_error(joint.iterates[:, c], alone.iterates).max() < 1e-12
        assert torch.allclose(joint.residual_norms[:, c], alone.residual_norms, rtol=0, atol=1e-12)

    noisy = AnalogSolver(SolverConfig(outer=outer), device="cpu", seed=0).solve(a, b, 10)
    ref = torch.linalg.solve(a.unsqueeze(-3), b.unsqueeze(-1)).squeeze(-1)
    assert relative_error(noisy.solution, ref).max() < 1e-5


def test_operation_counts_per_iteration():
    assert operation_counts("richardson", 1, 16) == OperationCounts(lpinv=1, hpmvm=1, dot_products=0)
    assert operation_counts("richardson", 7, 16) == OperationCounts(1, 1, 0)
    assert [operation_counts("fcg", k, 16) for k in (1, 2, 9)] == [
        OperationCounts(1, 2, 2),
        OperationCounts(1, 2, 4),
        OperationCounts(1, 2, 4),
    ]
    assert [operation_counts("fgmres", k, 16).dot_products for k in (1, 2, 3, 10)] == [3, 3, 4, 11]
    assert operation_counts("fgmres", 5, 32).hpmvm == 2
    with pytest.raises(ValueError, match="iteration"):
        operation_counts("fcg", 0, 16)
    with pytest.raises(ValueError, match="unknown outer"):
        operation_counts("cg", 1, 16)  # type: ignore[arg-type]


@pytest.mark.parametrize("outer", list(LOOPS))
def test_operation_counts_match_the_loops(outer, monkeypatch):
    """Count the primitives and the digital inner products the loops actually call."""
    calls = {"lpinv": 0, "hpmvm": 0, "dot_products": 0}

    def counted(name, fn):
        def wrapper(*args):
            calls[name] += 1
            return fn(*args)

        return wrapper

    monkeypatch.setattr(schemes, "_dot", counted("dot_products", schemes._dot))  # norms call it too
    a = rayleigh_gram(2, 32, 4, seed=60)
    _, b = _rhs(a, seed=61)
    system = AnalogSolver(device="cpu", seed=0).program(a)
    for iterations in (1, 2, 5):
        calls.update(dict.fromkeys(calls, 0))
        LOOPS[outer](counted("lpinv", system.lpinv), counted("hpmvm", system.hpmvm), b.unsqueeze(-1), iterations)
        expected = [operation_counts(outer, k, 8) for k in range(1, iterations + 1)]
        assert calls == {name: sum(getattr(c, name) for c in expected) for name in calls}
