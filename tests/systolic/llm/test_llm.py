"""Transformers on the machine: published parameter counts, the phases' bytes by hand, the
refusals."""

import json

import pytest

from systolic import llm
from systolic.cli import main
from systolic.llm.config import MODELS, PUBLISHED_PARAMETERS, ModelConfig
from systolic.llm.phases import build_step, kv_cache_bytes, weight_bytes
from systolic.machine.config import MACHINES, machine


@pytest.mark.parametrize("name", list(MODELS))
def test_parameter_counts_equal_the_published_ones(name):
    assert MODELS[name]().parameters() == PUBLISHED_PARAMETERS[name]


def test_workloads_lists_the_transformers_with_their_parameters(capsys):
    assert main(["workloads", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out) if r.get("kind") == "llm"}
    assert listed["llama-3-8b"]["parameters"] == 8_030_261_248
    assert listed["llama-3-8b"]["kv_heads"] == 8


def tiny(**changes) -> ModelConfig:
    fields = dict(name="tiny", layers=2, hidden=64, heads=4, kv_heads=2, ffn=128,
                  ffn_kind="swiglu", vocab=256, norm="rmsnorm", positions="rotary",
                  max_seq=512)  # fmt: skip
    return ModelConfig(**{**fields, **changes})


def test_a_decode_steps_hbm_bytes_by_hand():
    lm, config = tiny(), machine("tpu_v5e")
    step = build_step(lm, config, "decode", batch=3, length=100)
    # every weight read once in bf16 but the token embedding, of which the 3 tokens' rows
    # are gathered; the whole cache of 100 positions; one key and value appended per layer
    h, kv = 64, lm.kv_dim
    weights = lm.parameters() - lm.vocab * h  # untied: the LM head is read, the table is not
    assert step.hbm_read_bytes == 2 * weights + 2 * 3 * h + kv_cache_bytes(lm, config, 3, 100)
    assert step.hbm_write_bytes == lm.layers * 3 * 2 * kv * 2


def test_a_long_prefill_keeps_the_mxus_busy():
    lm, config = llm.model("llama-2-7b"), machine("tpu_v5e")
    long = llm.run_phase(lm, config, "prefill", 1, 2048)
    short = llm.run_phase(lm, config, "prefill", 1, 32)
    assert long["bottleneck"] == "mxu" and long["utilization"] > 0.75
    assert short["bottleneck"] == "hbm" and short["utilization"] < long["utilization"] / 4


@pytest.mark.parametrize("name", list(MACHINES))
def test_decode_at_batch_1_takes_the_time_its_bytes_take_to_cross_hbm(name):
    # every weight (but the embedding table, of which one row is read) and the whole cache
    lm, config = llm.model("llama-2-7b"), machine(name)
    figures = llm.run_phase(lm, config, "decode", 1, 2048)
    ideal = (figures["weight_bytes"] + figures["kv_cache_bytes"]) / config.hbm_bytes_per_second
    assert figures["bottleneck"] == "hbm"
    assert abs(figures["seconds_per_token"] / ideal - 1) < 0.05


@pytest.mark.parametrize("name", list(MACHINES))
def test_decode_turns_mxu_bound_near_the_machines_flops_per_hbm_byte(name):
    # a short context: the cache's bytes small beside the weights'; bf16 weights give 2
    # FLOPs per 2 bytes per sequence, so the knee is at peak FLOP/s over HBM bytes/s
    lm, config = llm.model("llama-2-7b"), machine(name)
    knee = config.peak_bf16_flops / config.hbm_bytes_per_second
    below = llm.run_phase(lm, config, "decode", int(0.85 * knee), 16)
    above = llm.run_phase(lm, config, "decode", int(1.15 * knee) + 1, 16)
    assert below["bottleneck"] == "hbm" and above["bottleneck"] == "mxu"


def test_a_model_that_does_not_fit_hbm_is_refused_with_the_sizes():
    message = (r"mixtral-8x7b's weights \(87.0 GiB\) and a KV cache .* more than tpu_v5e's "
               r"HBM of 16.0 GiB \(one chip: no sharding\)")  # fmt: skip
    with pytest.raises(ValueError, match=message):
        llm.run_phase(llm.model("mixtral-8x7b"), machine("tpu_v5e"), "decode", 1, 128)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["llm", "gpt-5"], "unknown model 'gpt-5'; bundled: gpt2, gpt2-medium, bert-base"),
        (["llm", "gpt2", "--phase", "decode", "--context", "2000"],
         "gpt2 takes at most 1,024 positions; decode would reach 2,001"),
        (["llm", "gpt2", "--phase", "prefill"], "--phase prefill takes --seq S"),
        (["llm", "gpt2", "--phase", "decode", "--context", "0"], "--context: expected a positive"),
        (["llm", "bert-base", "--phase", "decode", "--context", "10"],
         "bert-base is an encoder: it has a prefill (encode) phase only"),
        (["llm", "{tmp}/bad.json", "--context", "4"], "bad.json: tiny: 5 heads do not divide "
         "the hidden size 64"),
        (["llm", "{tmp}/unknown.json", "--context", "4"], "unknown.json: unknown key 'depth'"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_status_2(tmp_path, capsys, argv, message):
    fields = dict(name="tiny", layers=2, hidden=64, heads=5, kv_heads=5, ffn=128,
                  ffn_kind="gelu", vocab=256, norm="layernorm", positions="learned",
                  max_seq=512)  # fmt: skip
    (tmp_path / "bad.json").write_text(json.dumps(fields))
    (tmp_path / "unknown.json").write_text(json.dumps({**fields, "depth": 3}))
    try:
        status = main([a.format(tmp=tmp_path) for a in argv])
    except SystemExit as exit_info:
        status = exit_info.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_llm_json_has_the_stable_names(capsys):
    assert main(["llm", "gpt2", "--phase", "decode", "--context", "64", "--tokens", "2",
                 "--json"]) == 0  # fmt: skip
    figures = json.loads(capsys.readouterr().out)
    for key in ("seconds_per_token", "tokens_per_second", "hbm_bytes_per_token", "bottleneck",
                "unit_cycles", "energy_per_token_j"):  # fmt: skip
        assert key in figures
    assert figures["steps"] == 2 and set(figures["unit_cycles"]) == {"mxu", "vpu", "hbm"}
    assert figures["weight_bytes"] == weight_bytes(llm.model("gpt2"), machine("tpu_v5e"))


def test_a_batch_sweep_prints_each_batch_and_draws_the_picture(tmp_path, capsys):
    png = tmp_path / "sweep.png"
    argv = ["llm", "gpt2", "--phase", "decode", "--context", "32", "--sweep-batch", "1,4",
            "--plot", str(png), "--json"]  # fmt: skip
    assert main(argv) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert [f["batch"] for f in sweep] == [1, 4]
    assert sweep[1]["tokens_per_second"] > sweep[0]["tokens_per_second"]  # more per step
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["llm", "gpt2", "--context", "8", "--plot", str(png)]) == 2
    assert "--plot draws a batch sweep" in capsys.readouterr().err


@pytest.mark.parametrize("dtype, bound", [("fp32", 1e-5), ("bf16", 0.05)])
def test_gpt2_runs_with_values_equal_to_the_independent_reference(dtype, bound):
    from systolic.llm.values import run_values

    checked = run_values(llm.model("gpt2"), machine("tpu_v5e", dtype), seq=8, layers=2, seed=3)
    assert checked["within_bound"] and checked["max_abs_error"] < bound
    assert checked["max_abs_error"] > 0  # the machine's sums are its own, not NumPy's


def test_one_block_through_systolic_run_matches_the_onnx_reference(tmp_path, capsys):
    import numpy as np
    import onnx

    from systolic.llm.values import decoder_onnx, weights

    lm = llm.model("gpt2")
    w = weights(lm, 1, seed=0)
    model = decoder_onnx(lm, w, seq=8, layers=1)
    onnx.save(model, str(tmp_path / "block.onnx"))
    np.save(tmp_path / "x.npy", (w["wte"][:8] + w["wpe"][:8]).astype(np.float32))
    argv = ["run", str(tmp_path / "block.onnx"), "--dtype", "fp32", "--input",
            f"x={tmp_path / 'x.npy'}", "--json"]  # fmt: skip
    assert main(argv) == 0
    (output,) = json.loads(capsys.readouterr().out)["outputs"]
    assert output["within_bound"] and output["max_abs_error"] < 1e-4


@pytest.mark.parametrize("dtype, bound", [("fp32", 1e-5), ("bf16", 0.05)])
def test_a_llama_style_model_runs_with_values_equal_to_the_independent_reference(dtype, bound):
    # RMSNorm, rotary embeddings, grouped-query attention (2 key/value heads for 4), SwiGLU,
    # an untied LM head
    from systolic.llm.values import run_values

    checked = run_values(tiny(), machine("tpu_v5e", dtype), seq=12, layers=2, seed=4)
    assert checked["within_bound"] and 0 < checked["max_abs_error"] < bound


def test_values_are_refused_for_other_models_and_phases(capsys):
    assert main(["llm", "mixtral-8x7b", "--phase", "prefill", "--seq", "8", "--values",
                 "--layers", "1"]) == 2  # fmt: skip
    assert "--values runs GPT-2- and Llama-style decoders only" in capsys.readouterr().err
    assert main(["llm", "llama-3-8b", "--phase", "prefill", "--seq", "8", "--values",
                 "--layers", "1"]) == 2  # fmt: skip
    assert "LM head holds 525,336,576 weights" in capsys.readouterr().err
    assert main(["llm", "gpt2", "--phase", "decode", "--context", "8", "--values"]) == 2
    assert "--values runs a prefill of one sequence" in capsys.readouterr().err
    assert main(["llm", "gpt2", "--phase", "prefill", "--seq", "8", "--values", "--layers",
                 "1", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["within_bound"]


@pytest.mark.parametrize("lm", [llm.model("gpt2"), tiny()], ids=["gpt2", "tiny-llama"])
def test_the_timing_models_macs_equal_a_computed_runs_at_small_size(lm):
    import numpy as np

    from systolic.llm.values import decoder_onnx, weights
    from systolic.onnx.graph import run_graph

    config, seq, layers = machine("tpu_v5e"), 8, 2
    step = build_step(lm, config, "prefill", 1, seq, layers)
    w = weights(lm, layers, seed=0)
    ran = run_graph(decoder_onnx(lm, w, seq, layers),
                    {"x": np.zeros((seq, lm.hidden), np.float32)}, config)  # fmt: skip
    computed = sum(node["macs"] for node in ran.nodes)
    # the same GEMMs, but the computed graph's LM head makes the logits of every position
    # and the timing model's only the last one's (the first token it generates)
    assert computed == step.macs + (seq - 1) * lm.hidden * lm.vocab
