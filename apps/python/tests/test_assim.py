"""The Python module against the framework it binds: import beside PyTorch,
plugins, validation errors with file, line and key, a small Lorenz-96 run read
back as xarray, and the README's Python example."""

import logging
import os
import pathlib
import re
import subprocess
import sys

import pytest

import assim

SOURCE = pathlib.Path(os.environ.get("ASSIM_SOURCE", pathlib.Path(__file__).resolve().parents[3]))


def lorenz96(name="py_l96"):
    """A twin experiment small enough for a test: 12 sites, 8 frames, a LETKF."""
    return {
        "name": name,
        "seed": 3,
        "components": {
            "l96": {"type": "model.lorenz96", "sites": 12},
            "all": {"type": "obs.identity"},
            "letkf": {"type": "sampler.enkf", "method": "letkf", "localisation": {"radius": 4}},
        },
        "stages": {
            "truth": {"run": "generate", "model": "$l96", "spinup": 5, "frames": 8},
            "seen": {"run": "observe", "data": "$truth", "operator": "$all", "window": 4,
                     "noise": {"sigma": 0.5}, "background": {"sigma": 0.5}},
            "letkf_run": {"run": "assimilate", "observations": "$seen", "sampler": "$letkf", "model": "$l96",
                          "members": 8, "windows": 2},
        },
    }


@pytest.mark.parametrize("first, second", [("torch", "assim"), ("assim", "torch")])
def test_imports_beside_torch_either_order(first, second):
    # One LibTorch in the process (Debian's python3-torch is built on it): a
    # tensor computes after both imports, whichever came first.
    code = (f"import {first}, {second}, torch, assim\n"
            "x = torch.arange(6.0).reshape(2, 3)\n"
            "assert float((x @ x.T).sum()) == 83.0\n"
            "assert 'model.lorenz96' in assim.plugins()['types']\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_plugins_list_types_and_stages_with_their_parameters():
    listed = assim.plugins()
    l96 = listed["types"]["model.lorenz96"]
    assert l96["kind"] == "model"
    sites = {p["name"]: p for p in l96["parameters"]}["sites"]
    assert sites["type"] == "integer" and sites["default"] == "40" and sites["doc"]
    generate = {p["name"]: p for p in listed["stages"]["generate"]["parameters"]}
    assert generate["frames"]["required"] or generate["frames"]["default"] is not None
    # A section's own fields come nested.
    observe = {p["name"]: p for p in listed["stages"]["observe"]["parameters"]}
    assert "sigma" in {f["name"] for f in observe["noise"]["fields"]}


def test_validate_a_file_gives_the_stages_in_order():
    checked = assim.validate(SOURCE / "tests/e2e/evaluate.yaml")
    assert checked["name"] == "evaluate"
    assert checked["stages"] == ["truth", "obs", "by_3dvar", "by_letkf", "scores"]
    assert "components:" in checked["resolved"]


def test_a_wrong_key_in_a_file_names_the_file_line_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\n"
                   "components:\n"
                   "  l96: {type: model.lorenz96, sitse: 12}\n"
                   "stages:\n"
                   "  truth: {run: generate, model: $l96, frames: 4}\n")
    with pytest.raises(assim.ExperimentError) as caught:
        assim.validate(bad)
    e = caught.value
    assert (e.file, e.line, e.key) == (str(bad), 3, "components.l96.sitse")
    assert f"{bad}:3:" in str(e) and "components.l96.sitse" in str(e) and "did you mean 'sites'" in str(e)


def test_a_wrong_set_names_the_command_line_and_key():
    with pytest.raises(assim.ExperimentError) as caught:
        assim.validate(SOURCE / "tests/e2e/evaluate.yaml", set=["stages.truth.frames=-2"])
    e = caught.value
    assert e.key == "stages.truth.frames" and e.line is None
    assert e.where.startswith("command line (--set stages.truth.frames=-2") or "--set" in e.where


def test_a_wrong_key_in_a_dict_names_the_line_of_the_file_written_from_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = lorenz96()
    experiment["components"]["l96"]["sitse"] = 12
    with pytest.raises(assim.ExperimentError) as caught:
        assim.validate(experiment)
    e = caught.value
    written = (tmp_path / "py_l96.yaml").read_text().splitlines()
    assert e.file == "py_l96.yaml" and e.key == "components.l96.sitse"
    assert written[e.line - 1].strip().startswith("sitse:")


def test_a_dict_never_overwrites_a_file_it_did_not_write(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "py_l96.yaml").write_text("# mine\n")
    with pytest.raises(FileExistsError):
        assim.validate(lorenz96())
    assert (tmp_path / "py_l96.yaml").read_text() == "# mine\n"


def test_run_a_small_lorenz96_and_open_its_products(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.INFO, logger="assim")
    results = assim.run(lorenz96(), workers=1, threads=1)
    assert list(results) == ["truth", "seen", "letkf_run"]
    assert results.folder == pathlib.Path("runs/py_l96")
    assert all((folder / "stage.yaml").is_file() for folder in results.values())
    # The framework's log lines reach Python's logging, progress lines too.
    lines = [r.getMessage() for r in caplog.records if r.name == "assim"]
    assert any(re.match(r"stage truth \(generate\): running", line) for line in lines), lines

    truth = assim.open(results["truth"])
    assert truth["x"].dims == ("sample", "time", "site") and truth.sizes["time"] == 8
    assert truth["site"].size == 12 and truth["x"].attrs["units"] == "1"
    analysis = assim.open(results["letkf_run"])
    assert analysis["mean"].dims[:3] == ("window", "seed", "time") and analysis.sizes["window"] == 2
    assert float(analysis["rmse"].mean()) < 1.0  # the LETKF fits 0.5-noise observations of every site

    # A second run reuses every stage.
    caplog.clear()
    assim.run(lorenz96(), workers=1, threads=1)
    reused = [r.getMessage() for r in caplog.records if "unchanged, reusing" in r.getMessage()]
    assert len(reused) == 3

    # A variant: the stages a --set changes write beside the base results, the others are shared.
    less_noise = ["stages.seen.noise.sigma=0.4"]
    assert assim.validate(lorenz96(), set=less_noise, variant="less")["variant_stages"] == ["seen", "letkf_run"]
    varied = assim.run(lorenz96(), set=less_noise, variant="less", workers=1, threads=1)
    assert [f.name for f in varied.values()] == ["truth", "seen@less", "letkf_run@less"]
    base, other = assim.open(results["seen"]), assim.open(varied["seen"])
    assert (base.attrs["observation_sigma"], other.attrs["observation_sigma"]) == (0.5, 0.4)
    assert not other["observation"].equals(base["observation"])


def test_a_run_with_a_wrong_value_stops_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = lorenz96("py_fail")
    # A window longer than the 8 frames the truth stage generates: a check
    # across stages, made before any stage computes.
    experiment["stages"]["seen"]["window"] = 20
    with pytest.raises(assim.ExperimentError) as caught:
        assim.run(experiment, workers=1, threads=1)
    e = caught.value
    assert e.key == "stages.seen.window" and e.file == "py_fail.yaml"
    assert "longer than the samples" in str(e)
    assert (tmp_path / "py_fail.yaml").read_text().splitlines()[e.line - 1].strip() == "window: 20"
    assert not (tmp_path / "runs").exists()


def test_a_stage_that_fails_raises_error_naming_it_and_leaves_no_result(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = lorenz96("py_diverged")
    # A step that diverges: found while the truth is computed.
    experiment["components"]["l96"].update(dt=1.0, forcing=40)
    with pytest.raises(assim.Error) as caught:
        assim.run(experiment, workers=1, threads=1)
    assert not isinstance(caught.value, assim.ExperimentError)
    assert str(caught.value).startswith("stage 'truth' (generate) failed") and "diverged" in str(caught.value)
    assert [p.name for p in (tmp_path / "runs/py_diverged").iterdir() if not p.name.startswith(".")] == []


def test_the_readme_python_example_runs(tmp_path):
    readme = (SOURCE / "README.md").read_text()
    blocks = re.findall(r"```python\n# tests: apps/python/tests/test_assim.py runs this block\n(.*?)```", readme, re.S)
    assert len(blocks) == 1
    done = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_readme_python_operator_swap_runs(tmp_path):
    # Run as written, from a folder laid out as the repository's root.
    readme = (SOURCE / "README.md").read_text()
    blocks = re.findall(r"```python\n# tests: apps/python/tests/test_assim.py swaps in this operator\n(.*?)```",
                        readme, re.S)
    assert len(blocks) == 1
    example = tmp_path / "sdk/examples/python_operator"
    example.mkdir(parents=True)
    (example / "blur.py").write_text((SOURCE / "sdk/examples/python_operator/blur.py").read_text())
    done = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "components.blur.width"
    assert assim.open(tmp_path / "runs/l96_blur/seen").attrs["operator_type"] == "obs.python"
