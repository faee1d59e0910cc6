"""The run loop's plug-ins (issue 21, item 5): user callbacks with every(n, fn), plug-ins named in the deck,
CollectiveError, and the device name in provenance (item 7)."""

import pytest
from mpi4py import MPI

from conftest import ROOT
from zzhpc.config import apply_overrides, load_deck
from zzhpc.core.deck import resolve
from zzhpc.core.plugins import Plugin, every
from zzhpc.core.run import run
from zzhpc.errors import CollectiveError, ConfigError, InputError, SimulationError, collective


def heat_cfg(outdir, *sets):
    deck = apply_overrides(
        load_deck(str(ROOT / "examples" / "heat.toml")), ["heat.shape=[16,16]", "run.steps=12", "run.t_end=1.0", *sets]
    )
    deck["output"]["dir"] = str(outdir)
    return resolve(deck, 1)


def test_every_calls_back_on_its_steps_and_sees_the_loop(tmp_path):
    seen = []
    cls, cfg = heat_cfg(tmp_path / "a")
    summary = run(
        cls,
        cfg,
        MPI.COMM_SELF,
        quiet=True,
        install_signals=False,
        plugins=[every(5, lambda loop: seen.append((loop.solver.step, loop.run_id)))],
    )
    assert [s for s, _ in seen] == [5, 10] and {r for _, r in seen} == {summary["run_id"]}


def test_a_plugin_can_stop_the_run_cleanly(tmp_path):
    class StopAt(Plugin):
        def after_step(self, loop):
            if loop.solver.step == 7:
                loop.stop("interrupted")

    cls, cfg = heat_cfg(tmp_path / "b")
    summary = run(cls, cfg, MPI.COMM_SELF, quiet=True, install_signals=False, plugins=[StopAt()])
    assert summary["status"] == "interrupted" and summary["steps"] == 7
    assert summary["outputs"]["checkpoint"].endswith("ckpt_0000000007.h5")


def test_fault_plugin_from_the_deck_and_a_failed_summary(tmp_path):
    cls, cfg = heat_cfg(tmp_path / "c", "run.plugins=['fault:kind=nan,rank=0,step=4']", "run.diag_every=2")
    with pytest.raises(SimulationError) as err:
        run(cls, cfg, MPI.COMM_SELF, quiet=True, install_signals=False)
    assert isinstance(err.value, CollectiveError) and err.value.exit_code == 3
    import json

    s = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert s["status"] == "failed" and s["failed_at_step"] == 4 and "non-finite" in s["reason"]


@pytest.mark.parametrize(
    "spec, words",
    [
        ("nosuch", "no plug-in 'nosuch'"),
        ("fault:kind=boom,rank=0,step=1", "expected fault:kind=raise|kill|nan"),
        ("slow:seconds", "'seconds' is not key=value"),
        ("slow:sec=1", "takes ('seconds',)"),
    ],
)
def test_bad_plugin_spec_is_a_config_error(tmp_path, spec, words):
    with pytest.raises(ConfigError, match="run.plugins") as err:
        heat_cfg(tmp_path, f"run.plugins=['{spec}']")
    assert words in str(err.value)


def test_collective_keeps_type_message_and_exit_code():
    e = collective(InputError("f.h5", "broken"))
    assert isinstance(e, InputError) and isinstance(e, CollectiveError)
    assert str(e) == "f.h5: broken" and e.exit_code == 2 and e.path == "f.h5"
    assert collective(e) is e
    assert not isinstance(SimulationError("x"), CollectiveError)


def test_a_backends_device_name_reaches_provenance():
    from zzhpc.device.numpy_backend import NumpyBackend
    from zzhpc.io.provenance import cpu_model, provenance

    class CardBackend(NumpyBackend):
        kind = "gpu"

        def device_name(self):
            return "Test Card 9000"

    rec = provenance(MPI.COMM_SELF, backend=CardBackend())
    assert rec["gpu_model"] == "Test Card 9000" and rec["device_model"] == "Test Card 9000"
    rec = provenance(MPI.COMM_SELF, backend=NumpyBackend())
    assert rec["device_model"] == cpu_model() and rec["gpu_model"] is None


def test_every_backend_here_names_its_device(backend):
    name = backend.device_name()
    assert isinstance(name, str) and name and "\x00" not in name
