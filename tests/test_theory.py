"""Machine checks for docs/theory.md, the worked theory answers.

Every number on that page is recomputed here with torch/numpy (autograd for derivatives,
``F.conv2d`` for the convolution, ``nn.Conv2d`` for output sizes and parameter counts).
The page's "Summary of answers" table is parsed and each row compared with the
computation, so the page and the check cannot drift apart. All tests are fast.
"""

import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

DOC = Path(__file__).resolve().parents[1] / "docs" / "theory.md"
ALPHA = 0.1  # the "small constant" of the ReLU family, as in the page's sample table


# ----------------------------------------------------------------------------- helpers

def doc_text():
    return DOC.read_text(encoding="utf-8")


def doc_answers():
    """The page's summary table as {question: answer} (the rows after its header)."""
    section = doc_text().split("## Summary of answers", 1)[1]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and line.lstrip().startswith("|") and cells[0] not in ("question", "---"):
            rows[cells[0]] = cells[1]
    return rows


def derivative(act, z):
    """d act / dz at each point of z, by autograd (float64)."""
    z = torch.as_tensor(z, dtype=torch.float64).clone().requires_grad_(True)
    act(z).sum().backward()
    return z.grad


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def out_hw(module, c_in, h, w):
    """Spatial size of module's output on a (1, c_in, h, w) input."""
    with torch.no_grad():
        return tuple(module(torch.zeros(1, c_in, h, w)).shape[-2:])


RELU = F.relu
LEAKY = lambda z: F.leaky_relu(z, negative_slope=ALPHA)  # noqa: E731
ELU = lambda z: F.elu(z, alpha=ALPHA)  # noqa: E731

# The matrices of Q3.1(a), as given in the handout (rows of X, then rows of F).
X = np.array([[8, 1, 7, -2, 5, 0],
              [-2, 1, 4, 6, 3, 3],
              [5, 1, 1, 3, -2, 6],
              [-1, 5, 0, 3, -2, 9],
              [8, -2, -1, -1, 4, 9],
              [-2, 0, -2, 9, -1, 7]], dtype=np.float64)
FILTER = np.array([[2, -1, 2, -1],
                   [1, 3, 1, 3],
                   [2, -1, 2, -1],
                   [1, 3, 1, 3]], dtype=np.float64)


def torch_conv(x, k, padding):
    return F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(k)[None, None],
                    padding=padding)[0, 0].numpy()


def named_entries(Y):
    """Y's entries named a..y row by row: a = Y[0,0], e = Y[0,4], v = Y[4,1], ..."""
    assert Y.shape == (5, 5)
    return {chr(ord("a") + i): Y.flat[i] for i in range(25)}


# ------------------------------------------------------------------------- the page


def test_summary_table_is_complete():
    answers = doc_answers()
    assert len(answers) == 24, sorted(answers)
    assert all(v for v in answers.values())


# ------------------------------------------------------------------------------- Q1


def test_q1_1_sigmoid_is_strictly_between_0_and_1():
    z = torch.linspace(-30, 30, 10001, dtype=torch.float64)
    s = torch.sigmoid(z)
    inside = bool(((s > 0) & (s < 1)).all())
    assert inside
    assert doc_answers()["Q1(1)"] == str(inside)
    # The aside: in float32 it saturates to exactly 1.0 from about 17, to 0.0 below about -89.
    s32 = lambda v: torch.sigmoid(torch.tensor(v, dtype=torch.float32)).item()  # noqa: E731
    assert s32(16.0) < 1.0 and s32(17.5) == 1.0
    assert s32(-88.0) > 0.0 and s32(-90.0) == 0.0


def test_q1_2_tanh_slope_is_larger_near_zero():
    zero = torch.zeros(1)
    d_sig = derivative(torch.sigmoid, zero).item()
    d_tanh = derivative(torch.tanh, zero).item()
    answers = doc_answers()
    assert d_sig == pytest.approx(float(answers["Q1(2) sigmoid'(0)"]))
    assert d_tanh == pytest.approx(float(answers["Q1(2) tanh'(0)"]))
    assert d_tanh == pytest.approx(4 * d_sig)
    assert answers["Q1(2)"] == ("True" if d_sig > d_tanh else "False")

    # sigmoid' <= 0.25 everywhere; tanh' > sigmoid' exactly on |z| < the crossing point,
    # found by bisection on the autograd slopes and printed on the page to 3 decimals.
    gap = lambda v: (derivative(torch.tanh, [v]) - derivative(torch.sigmoid, [v])).item()  # noqa: E731
    lo, hi = 0.5, 3.0
    assert gap(lo) > 0 > gap(hi)
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
    assert rf"\lvert z \rvert < {lo:.3f}$" in doc_text()
    z = torch.linspace(-6, 6, 24001, dtype=torch.float64)
    ds, dt = derivative(torch.sigmoid, z), derivative(torch.tanh, z)
    assert ds.max().item() == pytest.approx(0.25)
    assert torch.equal(dt > ds, z.abs() < lo)
    # tanh(z) = 2 sigmoid(2z) - 1, hence tanh'(z) = 4 sigmoid'(2z).
    assert torch.allclose(dt, 4 * derivative(torch.sigmoid, 2 * z))


def test_q1_3_fully_connected_neurons_have_their_own_weights():
    torch.manual_seed(0)
    layer = nn.Linear(4, 3)
    assert n_params(layer) == 3 * 4 + 3 == 15  # not 4 + 1 = 5 shared ones
    x = torch.randn(4)
    for j in range(3):
        layer.zero_grad()
        layer(x)[j].backward()
        g = layer.weight.grad
        assert torch.allclose(g[j], x)  # neuron j's gradient lands on row j only ...
        others = [k for k in range(3) if k != j]
        assert torch.count_nonzero(g[others]) == 0  # ... and on no other neuron's row
    assert doc_answers()["Q1(3)"] == "False"


# ------------------------------------------------------------------------------- Q2

# The page's formulas for the three derivatives (z != 0), and its value at 0 (alpha / 0).
FORMULAS = {
    "relu": (RELU, lambda z: (z > 0).double(), 0.0),
    "leaky": (LEAKY, lambda z: torch.where(z > 0, 1.0, ALPHA).double(), ALPHA),
    "elu": (ELU, lambda z: torch.where(z > 0, torch.ones_like(z), ALPHA * torch.exp(z)), ALPHA),
}


@pytest.mark.parametrize("name", FORMULAS)
def test_q2_1_derivatives_match_the_formulas(name):
    act, formula, at_zero = FORMULAS[name]
    z = torch.tensor([-3.0, -2.0, -0.5, -1e-3, 1e-3, 0.5, 2.0, 3.0], dtype=torch.float64)
    assert torch.allclose(derivative(act, z), formula(z))
    # Convention at 0 = the left slope (autograd's, and the handout's _relu_grad for ReLU).
    assert derivative(act, torch.zeros(1)).item() == pytest.approx(at_zero)
    assert doc_answers()[f"Q2(1) {name}'(0)"] == ("alpha" if at_zero == ALPHA else "0")


def test_q2_1_sample_value_table():
    z = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=torch.float64)
    text = doc_text()
    for name, symbol in [("relu", "relu"), ("leaky", "leaky"), ("elu", "elu")]:
        row = next(line for line in text.splitlines()
                   if line.startswith(rf"| $\mathrm{{{symbol}}}'(z)$"))
        printed = [float(c) for c in row.strip("|").split("|")[1:]]
        got = derivative(FORMULAS[name][0], z).tolist()
        assert printed == pytest.approx(got, abs=5e-5), (name, printed, got)


def test_q2_1_elu_derivative_reuses_the_output():
    z = torch.tensor([-4.0, -1.0, -0.1], dtype=torch.float64)
    assert torch.allclose(derivative(ELU, z), ELU(z) + ALPHA)


def test_q2_2_gradient_wrt_weights_is_act_prime_times_x():
    torch.manual_seed(0)
    x = torch.randn(5, dtype=torch.float64)
    for sign in (+1, -1):  # one active and one inactive pre-activation
        w = torch.randn(5, dtype=torch.float64)
        if torch.sign(w @ x) != sign:
            w = -w
        for name, (act, formula, _) in FORMULAS.items():
            w_ = w.clone().requires_grad_(True)
            h = act(w_ @ x)
            h.backward()
            z = (w @ x).reshape(1)
            assert torch.allclose(w_.grad, formula(z) * x), name
            if name == "elu" and sign < 0:  # alpha e^z x_j == (h + alpha) x_j
                assert torch.allclose(w_.grad, (h.detach() + ALPHA) * x)


# The page's dead-neuron example.
DEAD_W = torch.tensor([1.0, 1.0], dtype=torch.float64)
DEAD_B = -10.0
DEAD_X = torch.tensor([[1.0, 2.0], [3.0, 4.0], [-5.0, 2.0], [0.0, 0.0]], dtype=torch.float64)


def per_example_grads(act, w, b, X):
    """(dh/dw, dh/db) for h = act(w.x + b), one row per example."""
    gw, gb = [], []
    for x in X:
        w_ = w.clone().requires_grad_(True)
        b_ = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        act(w_ @ x + b_).backward()
        gw.append(w_.grad)
        gb.append(b_.grad)
    return torch.stack(gw), torch.stack(gb)


def test_q2_3_dead_relu_example():
    z = DEAD_X @ DEAD_W + DEAD_B
    assert z.tolist() == [-7.0, -3.0, -13.0, -10.0]  # the values printed on the page
    assert "-7, -3, -13, -10" in doc_text()
    assert bool((z <= 0).all())  # the condition holds ...
    gw, gb = per_example_grads(RELU, DEAD_W, DEAD_B, DEAD_X)
    assert torch.count_nonzero(gw) == 0 and torch.count_nonzero(gb) == 0  # ... zero gradient

    # So gradient descent on a loss of the neuron's output leaves w and b where they are.
    w = DEAD_W.clone().requires_grad_(True)
    b = torch.tensor(DEAD_B, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([5.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    for _ in range(3):
        loss = ((F.relu(DEAD_X @ w + b) - targets) ** 2).mean()
        gw, gb = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= 1.0 * gw
            b -= 1.0 * gb
    assert torch.equal(w.detach(), DEAD_W) and b.item() == DEAD_B
    # The same loss does move a leaky-ReLU neuron: it is not dead.
    w = DEAD_W.clone().requires_grad_(True)
    loss = ((LEAKY(DEAD_X @ w + DEAD_B) - targets) ** 2).mean()
    assert torch.count_nonzero(torch.autograd.grad(loss, w)[0]) > 0


def test_q2_3_condition_is_also_necessary_and_uses_the_convention_at_zero():
    # A sample exactly on the hyperplane (z = 0) still gives zero gradient (relu'(0) = 0) ...
    on_plane = torch.tensor([[4.0, 6.0]], dtype=torch.float64)
    gw, gb = per_example_grads(RELU, DEAD_W, DEAD_B, on_plane)
    assert torch.count_nonzero(gw) == 0 and torch.count_nonzero(gb) == 0
    # ... but one sample on the active side revives the neuron: d h / d b = 1.
    X = torch.cat([DEAD_X, torch.tensor([[6.0, 6.0]], dtype=torch.float64)])
    gw, gb = per_example_grads(RELU, DEAD_W, DEAD_B, X)
    assert gb[-1].item() == 1.0 and torch.equal(gw[-1], X[-1])


@pytest.mark.parametrize("name", ["leaky", "elu"])
def test_q2_4_leaky_and_elu_neurons_still_get_gradient(name):
    act = FORMULAS[name][0]
    gw, gb = per_example_grads(act, DEAD_W, DEAD_B, DEAD_X)
    assert bool((gb != 0).all())  # every example pushes the bias
    z = DEAD_X @ DEAD_W + DEAD_B
    expected = torch.full_like(z, ALPHA) if name == "leaky" else ALPHA * torch.exp(z)
    assert torch.allclose(gb, expected)
    label = {"leaky": "leaky ReLU", "elu": "ELU"}[name]
    assert doc_answers()[f"Q2(4) {label} can die"] == "No"


def test_q2_4_printed_values_and_the_elu_caveat():
    assert ALPHA * math.exp(-7) == pytest.approx(9.1e-5, abs=0.05e-5)
    assert ALPHA * math.exp(-3) == pytest.approx(0.005, abs=0.0005)
    # ELU's slope decays exponentially; in float32 it underflows to exactly 0 near z = -104.
    g32 = lambda v: derivative(  # noqa: E731
        lambda z: F.elu(z.float(), alpha=ALPHA), torch.tensor([v])).item()
    assert g32(-100.0) > 0.0 and g32(-110.0) == 0.0


# ----------------------------------------------------------------------------- Q3.1


def test_q3_1a_output_with_f_conv2d():
    Y = torch_conv(X, FILTER, padding=1)
    assert Y.shape == (5, 5)
    ent = named_entries(Y)
    answers = doc_answers()
    assert ent["e"] == Y[0, 4] == float(answers["Q3.1(a) e"])  # row 1, column 5
    assert ent["v"] == Y[4, 1] == float(answers["Q3.1(a) v"])  # row 5, column 2
    # The whole Y printed on the page.
    block = doc_text().split("```\nY =", 1)[1].split("```", 1)[0]
    printed = np.array([[float(t) for t in line.split()] for line in block.strip().splitlines()])
    assert np.array_equal(printed, Y)


def test_q3_1a_by_hand_matches_the_library():
    """A plain numpy cross-correlation (no torch) agrees, window sums as on the page."""
    P = np.pad(X, 1)
    Y = np.array([[np.sum(P[r:r + 4, c:c + 4] * FILTER) for c in range(5)] for r in range(5)])
    assert np.array_equal(Y, torch_conv(X, FILTER, padding=1))
    # Row-by-row partial sums printed for e and v.
    assert (P[0:4, 4:8] * FILTER).sum(axis=1).tolist() == [0, 13, 15, 3]
    assert (P[4:8, 1:5] * FILTER).sum(axis=1).tolist() == [-10, -2, -17, 0]


def test_q3_1a_flipped_kernel_aside():
    """True convolution, sum_m,n P[r+m, c+n] F[3-m, 3-n], equals conv2d with the flipped filter."""
    P = np.pad(X, 1)
    Y = np.array([[sum(P[r + m, c + n] * FILTER[3 - m, 3 - n] for m in range(4) for n in range(4))
                   for c in range(5)] for r in range(5)])
    assert np.array_equal(Y, torch_conv(X, FILTER[::-1, ::-1].copy(), padding=1))
    ent = named_entries(Y)
    answers = doc_answers()
    assert ent["e"] == float(answers["Q3.1(a) e, flipped kernel"])
    assert ent["v"] == float(answers["Q3.1(a) v, flipped kernel"])


def test_q3_1b_output_size():
    hw = out_hw(nn.Conv2d(1, 1, kernel_size=6, stride=2, padding=2), 1, 10, 12)
    assert hw == (5, 6)
    assert doc_answers()["Q3.1(b) output"] == f"{hw[0]} x {hw[1]}"


# ----------------------------------------------------------------------------- Q3.2


def test_q3_2a_multiple_choice():
    options = {"A": (4, 2), "B": (5, 2), "C": (10, 4), "D": (9, 4)}  # (n, padding)
    true = [k for k, (n, p) in options.items()
            if out_hw(nn.Conv2d(1, 1, kernel_size=n, stride=1, padding=p), 1, 32, 32) == (32, 32)]
    assert true == ["B", "D"]
    assert doc_answers()["Q3.2(a)"] == ", ".join(true)
    # The wrong options' sizes printed on the page.
    assert out_hw(nn.Conv2d(1, 1, 4, padding=2), 1, 32, 32) == (33, 33)
    assert out_hw(nn.Conv2d(1, 1, 10, padding=4), 1, 32, 32) == (31, 31)


def test_q3_2b_hyperparameters():
    conv = nn.Conv2d(3, 1, kernel_size=3, stride=1, padding=2)
    # Filter size, stride and padding are fixed constructor settings, not trained tensors.
    args = inspect.signature(nn.Conv2d).parameters
    assert {"kernel_size", "stride", "padding"} <= set(args)
    learned = dict(conv.named_parameters())
    assert set(learned) == {"weight", "bias"} and learned["weight"].requires_grad
    # Image size is not a setting: one layer, same weights, runs on any image size.
    assert not any("size" in a and a != "kernel_size" for a in args)
    assert out_hw(conv, 3, 12, 12) == (14, 14) and out_hw(conv, 3, 32, 32) == (34, 34)
    picks = ["stride", "padding", "filter size"]
    assert doc_answers()["Q3.2(b)"] == ", ".join(picks)


def test_q3_2c_colour_single_filter():
    with_bias = nn.Conv2d(3, 1, kernel_size=3, stride=1, padding=2)  # colour: 3 channels
    no_bias = nn.Conv2d(3, 1, kernel_size=3, stride=1, padding=2, bias=False)
    answers = doc_answers()
    assert n_params(no_bias) == int(answers["Q3.2(c) without bias"]) == 27
    assert n_params(with_bias) == int(answers["Q3.2(c) with bias"]) == 28
    assert out_hw(with_bias, 3, 12, 12) == (14, 14)


def test_q3_2d_parameters_per_filter_count():
    answers = doc_answers()
    assert answers["Q3.2(d) K filters"] == "17K"
    text = doc_text()
    for k in (1, 8, 10, 16, 32):
        conv = nn.Conv2d(1, k, kernel_size=4, stride=2, padding=0)
        assert n_params(conv) == 17 * k
        assert out_hw(conv, 1, 40, 40) == (19, 19)
        if k != 10:
            assert f"$K = {k} \\to {17 * k}$" in text
    chosen = int(re.search(r"\*\*We take \$K = (\d+)\$ filters\*\*", text).group(1))
    assert n_params(nn.Conv2d(1, chosen, 4, stride=2)) == int(answers[f"Q3.2(d) K = {chosen}"])


def test_q3_2e_two_layers():
    first = nn.Conv2d(1, 4, kernel_size=6, stride=2, padding=2)
    second = nn.Conv2d(4, 3, kernel_size=3, stride=1, padding=0)
    answers = doc_answers()
    assert n_params(first) == int(answers["Q3.2(e) layer 1"]) == 148
    assert n_params(second) == int(answers["Q3.2(e) layer 2"]) == 111
    net = nn.Sequential(first, second)
    assert n_params(net) == int(answers["Q3.2(e) total"]) == 259
    with torch.no_grad():
        assert first(torch.zeros(1, 1, 28, 28)).shape == (1, 4, 14, 14)
        assert net(torch.zeros(1, 1, 28, 28)).shape == (1, 3, 12, 12)
