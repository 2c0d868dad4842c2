"""Tests of ``pufferlib.exceptions`` (spec section 1)."""

from __future__ import annotations

import pickle

import pytest

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, InvalidAgentError


def test_api_usage_error_is_a_runtime_error_with_message():
    error = APIUsageError("step() called before reset()")
    assert isinstance(error, RuntimeError)
    assert error.message == "step() called before reset()" == str(error)
    with pytest.raises(RuntimeError, match="before reset"):
        raise error


def test_invalid_agent_error_names_the_agent_and_lists_the_valid_ones():
    error = InvalidAgentError("agent_9", ("agent_0", "agent_1"))
    assert isinstance(error, ValueError)
    assert error.agent_id == "agent_9" and error.agents == ["agent_0", "agent_1"]
    assert "'agent_9'" in str(error) and "['agent_0', 'agent_1']" in str(error)


def test_environment_setup_error_says_what_to_install():
    cause = ModuleNotFoundError("No module named 'ale_py'")
    error = EnvironmentSetupError(cause, "atari")
    assert isinstance(error, RuntimeError)
    assert error.e is cause and error.package == "atari"
    assert "pip install -e '.[atari]'" in error.message and "ale_py" in error.message
    assert "PyPI's `pufferlib` is another project" in error.message
    assert str(error) == error.message


def test_environment_setup_error_without_a_cause():
    error = EnvironmentSetupError(None, "procgen")
    assert "pip install --no-deps procgen-mirror" in str(error) and "None" not in str(error)


def test_a_gymnasium_dependency_error_keeps_gymnasiums_own_hint_not_a_made_up_extra():
    cause = RuntimeError('Box2D is not installed, run `pip install "gymnasium[box2d]"`')
    error = EnvironmentSetupError(cause, "LunarLander-v3")
    assert 'gymnasium[box2d]' in str(error) and "[LunarLander-v3]" not in str(error)


def test_a_missing_backend_says_what_needed_it():
    error = EnvironmentSetupError(ImportError("No module named 'ray'"), "ray", "the Ray backend")
    assert str(error).startswith("the Ray backend needs the `ray` extra")
    assert "pip install -e '.[ray]'" in str(error)


@pytest.mark.parametrize("error", [
    APIUsageError("bad"),
    InvalidAgentError(3, [0, 1]),
    EnvironmentSetupError(ImportError("x"), "atari"),
])
def test_exceptions_pickle_across_processes(error):
    # Vector workers send exceptions back to the main process.
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error) and str(clone) == str(error)
