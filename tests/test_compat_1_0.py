"""PufferLib 1.0 client code runs unchanged (issue 9, item 1).

Each test follows a call pattern that code written for 1.0 uses: a CleanRL-style PPO
script, the calls of 1.0's ``clean_pufferl.py`` trainer loop and ``demo.py`` config
loader, and Stable-Baselines3 on puffer envs. The code here is written for these tests
from 1.0's documented API; it is not 1.0's own code.
"""

from __future__ import annotations

import functools
import io
import os

import numpy as np
import pytest
import torch

import pufferlib
import pufferlib.emulation
import pufferlib.frameworks.cleanrl
import pufferlib.models
import pufferlib.pytorch
import pufferlib.utils
import pufferlib.vector
from pufferlib.environments import classic_control, ocean
from pufferlib.exceptions import EnvironmentSetupError


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)
    np.random.seed(0)


# ------------------------------------------------------------------------------------
# A CleanRL-style script: (T, N) storage, flattened minibatches, actions scored as stored


def test_cleanrl_style_script_learns_a_bandit():
    num_envs, num_steps = 8, 16
    envs = pufferlib.vector.make(ocean.env_creator("bandit"), num_envs=num_envs,
                                 env_kwargs=dict(num_actions=4, reward_noise=0.1),
                                 backend=pufferlib.vector.Serial)
    agent = pufferlib.frameworks.cleanrl.Policy(ocean.Policy(envs.driver_env, hidden_size=64))
    optimizer = torch.optim.Adam(agent.parameters(), lr=1e-2, eps=1e-5)
    obs = torch.zeros((num_steps, num_envs, *envs.single_observation_space.shape))
    actions = torch.zeros((num_steps, num_envs, *envs.single_action_space.shape))
    logprobs, rewards = torch.zeros((num_steps, num_envs)), torch.zeros((num_steps, num_envs))
    next_obs, _ = envs.reset(seed=1)
    next_obs = torch.Tensor(next_obs)
    returns = []
    for _ in range(40):
        for step in range(num_steps):
            obs[step] = next_obs
            with torch.no_grad():
                action, logprob, _, _ = agent.get_action_and_value(next_obs)
            actions[step], logprobs[step] = action, logprob
            next_obs, reward, terminations, truncations, _ = envs.step(action.cpu().numpy())
            rewards[step] = torch.as_tensor(reward)
            next_obs = torch.Tensor(next_obs)
        # REINFORCE-style update on the flattened batch: actions as float storage, scored
        # with .long() (the 1.0 CleanRL script's b_actions.long()[mb_inds]), any shape.
        b_obs = obs.reshape((-1, *envs.single_observation_space.shape))
        advantages = (rewards - rewards.mean()).reshape(-1)
        _, newlogprob, entropy, _ = agent.get_action_and_value(b_obs, actions.long())
        loss = -(newlogprob * advantages).mean() - 0.01 * entropy.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        returns.append(float(rewards.mean()))
    envs.close()
    # Half the steps are auto-resets (reward 0): a solved bandit averages about 0.5.
    assert np.mean(returns[:5]) < 0.25 and np.mean(returns[-5:]) > 0.4


# ------------------------------------------------------------------------------------
# The calls of 1.0's trainer loop (clean_pufferl.create / evaluate / train)


@pufferlib.utils.profile
def _evaluate(data):
    vecenv, policy = data.vecenv, data.policy
    with data.profile_env:
        o, r, d, t, infos, env_id, mask = vecenv.recv()
    env_id = env_id.tolist()
    with torch.no_grad():
        o = torch.as_tensor(o)
        h, c = data.lstm_h[:, env_id], data.lstm_c[:, env_id]
        actions, logprob, _, value, (h, c) = policy(o, (h, c))
        data.lstm_h[:, env_id], data.lstm_c[:, env_id] = h, c
    data.rows.append((o, actions, logprob, torch.as_tensor(r)))
    for info in infos:
        for key, value in pufferlib.utils.unroll_nested_dict(info):
            data.stats.setdefault(key, []).append(value)
    vecenv.send(actions.cpu().numpy())


def test_clean_pufferl_loop_calls_with_a_recurrent_policy():
    env_config = pufferlib.namespace(distance_to_target=2, num_targets=1)  # 1.0 passes its env config
    vecenv = pufferlib.vector.make(ocean.env_creator("squared"), env_kwargs=env_config, num_envs=4,
                                   num_workers=2, batch_size=2, zero_copy=True,
                                   backend=pufferlib.vector.Multiprocessing)
    base = ocean.Policy(vecenv.driver_env, hidden_size=32)
    policy = pufferlib.frameworks.cleanrl.RecurrentPolicy(
        ocean.Recurrent(vecenv.driver_env, base, input_size=32, hidden_size=32))
    assert isinstance(policy.lstm, torch.nn.LSTM)  # 1.0 sizes its LSTM state from policy.lstm
    lstm = policy.lstm
    data = pufferlib.namespace(
        vecenv=vecenv, policy=policy, rows=[], stats={}, profile_env=pufferlib.utils.Profiler(),
        lstm_h=torch.zeros(lstm.num_layers, vecenv.num_agents, lstm.hidden_size),
        lstm_c=torch.zeros(lstm.num_layers, vecenv.num_agents, lstm.hidden_size))
    vecenv.async_reset(1)
    horizon = 8
    for _ in range(horizon):
        _evaluate(data)
    vecenv.close()
    assert data._timers["_evaluate"].calls == horizon and data._timers["_evaluate"].elapsed > 0
    assert data.profile_env.calls == horizon and "Calls: 8" in repr(data.profile_env)
    assert data.stats  # episode infos arrived and were unrolled

    # train(): replay (B, T) sequences and score the stored actions, kept as (B, T).
    batch = vecenv.agents_per_batch
    obs = torch.stack([row[0] for row in data.rows], dim=1)  # (B, T, *obs_shape)
    stored = torch.stack([row[1] for row in data.rows], dim=1)  # (B, T)
    old_logprob = torch.stack([row[2] for row in data.rows], dim=1).reshape(-1)
    assert stored.shape == (batch, horizon)
    _, newlogprob, entropy, newvalue, _ = policy(obs, None, stored)
    assert newlogprob.shape == entropy.shape == (batch * horizon,) and newvalue.shape == (batch * horizon, 1)
    assert torch.isfinite(newlogprob - old_logprob).all()


def test_nativize_dtype_with_1_0_emulated_dtypes():
    """1.0 builds ``emulated`` with the flat dtype as a subarray dtype (``np.dtype((uint8, (n,)))``)."""
    env = ocean.make_env("spaces")
    emulated = pufferlib.namespace(
        observation_dtype=np.dtype((env.single_observation_space.dtype, env.single_observation_space.shape)),
        emulated_observation_dtype=env.obs_dtype)
    native = pufferlib.pytorch.nativize_dtype(emulated)
    obs, _ = env.reset(seed=0)
    leaves = pufferlib.pytorch.nativize_tensor(torch.as_tensor(obs[None]), native)
    expected = pufferlib.emulation.nativize(obs, env.emulated.observation_space, env.obs_dtype)
    for key, value in expected.items():
        np.testing.assert_array_equal(leaves[key][0].numpy(), np.asarray(value))


# ------------------------------------------------------------------------------------
# demo.py's config loading: pufferlib.utils helpers


def test_demo_config_helpers():
    module = pufferlib.utils.install_and_import("pufferlib.environments.ocean")
    make_env = module.env_creator("squared")
    env_args = pufferlib.utils.get_init_args(make_env)
    policy_args = pufferlib.utils.get_init_args(module.Policy)
    # 1.0's hidden_size first; later options (normalize_observations) keep 1.0's behaviour by default.
    assert "distance_to_target" in env_args
    assert policy_args == {"hidden_size": 128, "normalize_observations": False}
    assert "env" not in policy_args and "policy" not in pufferlib.utils.get_init_args(module.Recurrent)
    pufferlib.utils.validate_args(make_env, {"distance_to_target": 2})
    with pytest.raises(ValueError, match="Invalid argument 'nope'"):
        pufferlib.utils.validate_args(module.Policy, {"nope": 1})
    partial = functools.partial(make_env, num_targets=2)
    assert pufferlib.utils.get_init_args(partial) == {"num_targets": 2}
    with pytest.raises(EnvironmentSetupError, match="pip install"):
        pufferlib.utils.install_and_import("pufferlib.environments.no_such_binding")
    nested = {"env": {"score": 1.0, "stats": {"x": 2}}, "lr": 0.1}
    assert dict(pufferlib.utils.unroll_nested_dict(nested)) == {"env/score": 1.0, "env/stats/x": 2, "lr": 0.1}


def test_profiler_and_aggregation():
    profiler = pufferlib.utils.Profiler()
    for _ in range(3):
        with profiler:
            sum(range(1000))
    assert profiler.calls == 3 and profiler.elapsed > 0
    first = profiler.delta
    assert first == pytest.approx(profiler.elapsed) and profiler.delta == 0
    profiler.start()
    profiler.stop()
    assert profiler.calls == 4
    merged = pufferlib.utils.aggregate_profilers([{"step": profiler}, {"step": profiler}])
    assert merged["step"].calls == 8 and merged["step"].elapsed == pytest.approx(2 * profiler.elapsed)
    untimed = pufferlib.utils.Profiler(elapsed=False, calls=False)
    with untimed:
        pass
    merged = pufferlib.utils.aggregate_profilers([{"step": profiler}, {"step": untimed}])
    assert merged["step"].calls == 4 and merged["step"].elapsed == pytest.approx(profiler.elapsed)
    memory = pufferlib.utils.Profiler(memory=True)
    with memory:
        block = bytearray(8 << 20)
    assert "Memory:" in repr(memory) and block
    assert pufferlib.utils.format_bytes(1536) == "1.50 KB" and pufferlib.utils.format_bytes(12) == "12 B"


def test_suppress_silences_python_and_c_output(capfd):
    with pufferlib.utils.Suppress() as quiet:
        print("python output")
        os.write(1, b"c-level output\n")
        os.write(2, b"c-level error\n")
    print("after")
    out, err = capfd.readouterr()
    assert "output" not in out and "error" not in err and "after" in out
    assert "python output" in quiet.f.getvalue()


def test_silence_warnings():
    import warnings

    def noisy() -> int:
        warnings.warn("old", DeprecationWarning, stacklevel=1)
        return 3

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pufferlib.utils.silence_warnings(noisy)() == 3


# ------------------------------------------------------------------------------------
# Stable-Baselines3 on puffer envs (1.0's sb3_demo: make_vec_env over a puffer env creator)


@pytest.mark.timeout(300)
def test_sb3_ppo_on_a_puffer_env_creator():
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    env_creator = classic_control.env_creator("cartpole")
    envs = make_vec_env(lambda: env_creator(), n_envs=2, seed=0, vec_env_cls=DummyVecEnv)
    model = PPO("MlpPolicy", envs, n_steps=64, batch_size=64, n_epochs=1, verbose=0, seed=0)
    model.learn(total_timesteps=256)
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    model = PPO.load(buffer)
    env = classic_control.make_env("cartpole")
    ob, _ = env.reset(seed=0)
    action, _ = model.predict(ob.reshape(1, *ob.shape))
    ob, reward, terminal, truncated, _ = env.step(action[0])
    assert reward == 1.0 and ob.shape == env.single_observation_space.shape

