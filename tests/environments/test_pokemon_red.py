"""Pokémon Red binding (PyBoy): pufferlib.environments.pokemon_red.

The real ROM cannot ship, so these tests boot a synthetic cartridge: 32 KiB of NOPs
with a valid header. PyBoy runs it like any ROM, which exercises the whole env
contract (emulation, screen observations, RAM-based rewards, truncation, save
states); only the game itself is missing.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers_b import check_episode_stats, check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.environments import pokemon_red
from pufferlib.environments.pokemon_red.environment import ROM_ENV_VAR, MissingROMError
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

REASON = "needs the pokemon_red extra: pip install -e '.[pokemon_red]'"


@pytest.fixture
def rom(tmp_path):
    data = bytearray(32 * 1024)  # cartridge type 0 (ROM only), all NOPs
    checksum = 0
    for byte in data[0x134:0x14D]:
        checksum = (checksum - byte - 1) & 0xFF
    data[0x14D] = checksum
    path = tmp_path / "blank.gb"
    path.write_bytes(bytes(data))
    return str(path)


@pytest.fixture
def pyboy():
    return pytest.importorskip("pyboy", reason=REASON)


def test_missing_rom_says_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.delenv(ROM_ENV_VAR, raising=False)
    with pytest.raises(MissingROMError, match=f"rom_path=.*{ROM_ENV_VAR}") as error:
        pokemon_red.make_env()
    assert isinstance(error.value, EnvironmentSetupError)
    missing = str(tmp_path / "red.gb")
    monkeypatch.setenv(ROM_ENV_VAR, missing)
    with pytest.raises(MissingROMError, match="No file at"):
        pokemon_red.make_env()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_random_steps_through_vector_backends(pyboy, rom, backend):
    infos, obs, driver = run_vecenv(pokemon_red.env_creator(), backend,
                                    env_kwargs={"rom_path": rom, "max_steps": 50, "frame_skip": 8})
    assert driver.single_action_space.n == 7
    assert obs.shape == (2, 1, 72, 80) and obs.dtype == np.uint8
    check_episode_stats(infos, extra_keys=["tiles_explored", "party_levels", "badges"])
    assert all(info["episode_length"] == 50 for info in infos)


def test_rom_from_the_environment_variable_and_reset_restores_the_boot_state(pyboy, rom, monkeypatch):
    monkeypatch.setenv(ROM_ENV_VAR, rom)
    env = pokemon_red.make_env(max_steps=5, downsample=4)
    first, _ = env.reset(seed=0)
    first = first.copy()
    assert first.shape == env.single_observation_space.shape == (1, 36, 40)
    for action in range(5):
        _, reward, terminal, truncated, _ = env.step(action)
        assert np.isfinite(reward) and not terminal
    assert truncated
    again, _ = env.reset()
    assert np.array_equal(first, again)


def test_policy_and_recurrent_on_a_real_batch(pyboy, rom):
    env = pokemon_red.make_env(rom_path=rom, frame_skip=8)
    check_policy(env, pokemon_red.Policy, pokemon_red.Recurrent, collect_batch(env, 4))


def test_bad_arguments(pyboy, rom):
    with pytest.raises(APIUsageError, match="frame_skip"):
        pokemon_red.make_env(rom_path=rom, frame_skip=2)
    with pytest.raises(APIUsageError, match="Valid names: pokemon_red"):
        pokemon_red.env_creator("pokemon_blue")


def test_missing_dependency_names_the_extra(monkeypatch, rom):
    check_missing_dependency(monkeypatch, ["pyboy"], pokemon_red.make_env, "pokemon_red", rom_path=rom)
