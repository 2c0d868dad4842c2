"""Neural MMO binding: pufferlib.environments.nmmo.

nmmo does not install on Python 3.11 next to numpy 2 (it pins numpy==1.23.3 and an
old gymnasium/pettingzoo, and its vec-noise dependency fails to build), so only the
setup error is checked unless the package is present.
"""

from __future__ import annotations

import pytest
from helpers_b import check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.environments import nmmo
from pufferlib.exceptions import APIUsageError

REASON = ("needs the nmmo extra (pip install -e '.[nmmo]'), which does not install on Python 3.11 "
          "with numpy 2: nmmo pins numpy==1.23.3, gymnasium==0.29.1 and pettingzoo==1.24.1")


@pytest.fixture
def nmmo_package():
    return pytest.importorskip("nmmo", reason=REASON)


@pytest.mark.timeout(300)
def test_random_steps_through_the_serial_backend(nmmo_package):
    _, obs, driver = run_vecenv(nmmo.env_creator(), "serial", steps=20, num_envs=1)
    assert obs.shape[0] == driver.num_agents


def test_policy_and_recurrent_on_a_real_batch(nmmo_package):
    env = nmmo.make_env()
    check_policy(env, nmmo.Policy, nmmo.Recurrent, collect_batch(env, 1)[:16])


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["nmmo"], nmmo.make_env, "nmmo")


def test_unknown_name_lists_valid_names():
    with pytest.raises(APIUsageError, match="Valid names: nmmo"):
        nmmo.env_creator("neural_mmo_2")
