"""The lecture's backpropagation example (2-2-1 sigmoid network): forward pass, gradients, update, training."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffcompare.analysis.backprop import (
    PARAMETERS,
    Network,
    analyse,
    deltas,
    forward,
    gradients,
    reference_gradients,
    step,
    train,
)
from diffcompare.cli import main
from diffcompare.errors import DiffcompareError


def sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_the_network_has_the_slides_parameters():
    n = Network()
    assert n.x == (0.5, 0.1) and n.t == 0.8 and n.eta == 0.5
    assert n.params() == {"w11": 0.15, "w12": 0.2, "w21": 0.25, "w22": 0.3, "wh1": 0.4, "wh2": 0.45,
                          "bh": 0.35, "by": 0.6}


def test_forward_pass_follows_the_slides_formulas():
    fw = forward(Network())
    # written out independently with math.exp; same float operations, so 1e-15 (a few ulps) suffices
    z_h1 = 0.15 * 0.5 + 0.25 * 0.1 + 0.35
    z_h2 = 0.2 * 0.5 + 0.3 * 0.1 + 0.35
    z_y = 0.4 * sigma(z_h1) + 0.45 * sigma(z_h2) + 0.6
    expected = {"z_h1": z_h1, "h1": sigma(z_h1), "z_h2": z_h2, "h2": sigma(z_h2), "z_y": z_y,
                "y": sigma(z_y), "loss": 0.5 * (0.8 - sigma(z_y)) ** 2}
    for k, v in expected.items():
        assert fw[k] == pytest.approx(v, rel=1e-15, abs=1e-15), k
    # the slides print z_h1 = 0.45 and z_h2 = 0.48 exactly and h1 ~ 0.6106, h2 ~ 0.6177 (4 decimals)
    assert round(fw["z_h1"], 12) == 0.45 and round(fw["z_h2"], 12) == 0.48
    assert round(fw["h1"], 4) == 0.6106 and round(fw["h2"], 4) == 0.6177


def test_every_backend_matches_the_50_digit_reference():
    net = Network()
    ref = reference_gradients(net)
    for backend in ("reverse", "forward", "symbolic", "hand"):
        g = gradients(net, backend)
        for p in PARAMETERS:
            # gradients are 1e-4..1e-2; float64 rounding over ~30 operations stays below 1e-16 absolute
            assert abs(g[p] - float(ref[p])) < 1e-16, (backend, p)
    g = gradients(net, "finite")
    for p in PARAMETERS:
        # central differences at h ~ eps^(1/3): truncation + rounding ~ 1e-12 here (measured 5e-13 at most)
        assert abs(g[p] - float(ref[p])) < 2e-12, p


def test_the_slides_chain_rule_is_what_reverse_mode_computes():
    net = Network()
    d, g = deltas(net), gradients(net, "reverse")
    # same products in a different order: agreement to a few ulps of each gradient
    assert g["by"] == pytest.approx(d["delta_y"], rel=1e-14)
    assert g["bh"] == pytest.approx(d["delta_h1"] + d["delta_h2"], rel=1e-14)  # the bias is shared
    assert g["w11"] == pytest.approx(d["delta_h1"] * 0.5, rel=1e-14)
    assert g["w22"] == pytest.approx(d["delta_h2"] * 0.1, rel=1e-14)
    assert d["delta_y"] < 0  # the output is below the target: every weight should grow


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=8, max_size=8), st.floats(0.05, 0.95))
def test_reverse_mode_agrees_with_the_hand_derivation_on_any_network(ws, t):
    net = Network(t=t, **dict(zip(PARAMETERS, ws)))
    rev, hand = gradients(net, "reverse"), gradients(net, "hand")
    scale = max(abs(v) for v in hand.values())
    for p in PARAMETERS:
        # both are float64 products of the same ~10 factors: 1e-13 of the largest gradient is ~500 ulps
        assert abs(rev[p] - hand[p]) <= 1e-13 * scale + 1e-300, p


def test_one_step_is_gradient_descent_with_eta():
    net = Network()
    g = gradients(net)
    new = step(net, g)
    for p in PARAMETERS:
        assert getattr(new, p) == getattr(net, p) - 0.5 * g[p]
    assert new.wh1 > net.wh1 and new.by > net.by  # negative gradients: weights grow, as on the slides
    assert forward(new)["loss"] < forward(net)["loss"]


def test_training_lowers_the_loss_every_step():
    losses = train(Network(), 50)
    assert len(losses) == 51
    assert all(b < a for a, b in itertools.pairwise(losses))
    assert losses[-1] < 0.1 * losses[0]


def test_bad_steps_and_parameters_are_refused():
    with pytest.raises(DiffcompareError):
        train(Network(), -1)
    with pytest.raises(DiffcompareError):
        train(Network(), 10**9)
    with pytest.raises(DiffcompareError):
        step(Network(), {"w99": 1.0})


def test_analyse_collects_errors_and_the_update():
    b = analyse(Network(), ("reverse", "finite"), steps=3)
    assert set(b.gradients) == set(PARAMETERS)
    assert set(b.gradients["w11"]) == {"reverse", "finite"}
    assert b.errors["by"]["reverse"] < 1e-16 < b.errors["by"]["finite"]
    assert b.updated["by"] == pytest.approx(0.6 - 0.5 * b.gradients["by"]["reverse"], rel=1e-15)
    assert len(b.losses) == 4


def test_cli_json_has_forward_loss_gradients_and_updated(capsys):
    assert main(["backprop", "--json", "--backends", "reverse,finite,hand"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"forward", "loss", "gradients", "updated"} <= set(data)
    assert set(data["gradients"]) == set(PARAMETERS)
    assert set(data["gradients"]["bh"]) == {"reverse", "finite", "hand"}
    assert data["forward"]["h1"] == pytest.approx(sigma(0.45), rel=1e-15)
    assert data["updated"]["w11"] > 0.15


def test_cli_table_and_training(capsys):
    assert main(["backprop", "--steps", "20", "--backends", "reverse,symbolic"]) == 0
    out = capsys.readouterr().out
    assert "forward pass" in out and "symbolic" in out and "training" in out and "loss during training" in out


@pytest.mark.parametrize("args", [
    ["backprop", "--steps", "-3"],
    ["backprop", "--plot", "loss.png"],  # a loss curve needs --steps
    ["backprop", "--steps", "3", "--plot", "loss.txt"],
    ["backprop", "--eta", "0"],
    ["backprop", "--backends", "nope"],
    ["backprop", "--backends", ","],
])
def test_cli_bad_input_is_one_line_and_exit_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_cli_plot_writes_the_loss_curve(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "loss.svg"
    assert main(["backprop", "--steps", "10", "--backends", "reverse", "--plot", str(path)]) == 0
    assert path.read_text().lstrip().startswith("<?xml")


def test_loss_plot_uses_a_log_axis_for_a_loss_falling_by_orders_of_magnitude():
    from diffcompare.render.backprop import loss_plot

    text = loss_plot([1.04e-3, 2e-4, 3e-5, 1e-6, 4.3e-8])
    assert "E (log scale)" in text
    # on a linear axis the last three losses share the bottom row; on a log axis each has its own
    rows = [line for line in text.splitlines() if "|" in line]
    assert len([r for r in rows if "*" in r]) == 5
