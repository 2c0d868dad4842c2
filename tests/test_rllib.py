"""pufferlib.frameworks.rllib: pufferlib envs and policies in RLlib's PPO (new API stack).

Learning checks run RLlib PPO on a real local Ray cluster (2 CPUs, sampling in the
driver: ``num_env_runners=0``) with step budgets of a few thousand steps.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest

pytest.importorskip("ray.rllib", reason="ray[rllib] is not installed: pip install -e .[rllib]")
torch = pytest.importorskip("torch", reason="the RLlib binding needs torch")

import ray  # noqa: E402
from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.core.rl_module import MultiRLModuleSpec  # noqa: E402
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner  # noqa: E402

import catalogue  # noqa: E402
import pufferlib.models  # noqa: E402
from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv  # noqa: E402
from pufferlib.environments import ocean  # noqa: E402
from pufferlib.exceptions import APIUsageError  # noqa: E402
from pufferlib.frameworks import rllib as puffer_rllib  # noqa: E402
from pufferlib.frameworks.cleanrl import sample_logits  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """A local 2-CPU Ray cluster for this module (its actors import ``catalogue`` from
    tests/); one already running (another test module's) is used as it is and left running."""
    started = not ray.is_initialized()
    if started:
        # address="local": a cluster of our own, even while another session's is running.
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}})
    yield
    if started:
        ray.shutdown()


def ppo_config(env_name: str, spec, *, batch: int = 1024, minibatch: int = 256, num_envs: int = 16,
               seed: int = 1, **training) -> PPOConfig:
    """PPO sampling in the driver (no env-runner actors) with a local learner."""
    training = {"lr": 1e-2, "gamma": 0.9, "lambda_": 0.9, "num_epochs": 4, **training}
    return (PPOConfig()
            .environment(env_name)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=num_envs)
            .learners(num_learners=0)
            .training(train_batch_size=batch, minibatch_size=minibatch, **training)
            .rl_module(rl_module_spec=spec)
            .debugging(seed=seed))


def train(algo, iterations: int) -> list[float]:
    returns = []
    for _ in range(iterations):
        result = algo.train()
        returns.append(float(result["env_runners"]["episode_return_mean"]))
    return returns


def shared_policy_config(env_name: str, spec, **kwargs) -> PPOConfig:
    """Every agent mapped to one module, ``"shared"``."""
    return (ppo_config(env_name, MultiRLModuleSpec(rl_module_specs={"shared": spec}), **kwargs)
            .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kw: "shared"))


# ---------------------------------------------------------------------------------------
# register_env / make_env: what RLlib sees


def test_single_agent_env_has_the_flat_spaces():
    env = puffer_rllib.make_env(ocean.env_creator("spaces"))
    puffer = ocean.make_env("spaces")
    assert isinstance(env, puffer_rllib.GymnasiumEnv)
    assert env.observation_space == puffer.single_observation_space
    assert env.observation_space.dtype == np.uint8
    assert env.action_space == gymnasium.spaces.MultiDiscrete([2, 2])
    assert env.observation_space.emulated.observation_space == puffer.emulated.observation_space
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    obs2, reward, terminal, truncated, info = env.step(np.array([1, 0]))
    assert obs2 is not obs and terminal and not truncated and reward in (0.0, 0.5, 1.0)
    assert info["score"] == reward


def test_raw_envs_are_wrapped_and_env_config_overrides_kwargs():
    env = puffer_rllib.make_env(catalogue.SINGLE_AGENT["nested-box"])
    assert isinstance(env.env, GymnasiumPufferEnv)
    multi = puffer_rllib.make_env(catalogue.MULTI_AGENT["box-discrete"])
    assert isinstance(multi, puffer_rllib.MultiAgentPufferEnv)
    assert isinstance(multi.env, PettingZooPufferEnv)
    squared = puffer_rllib.make_env(ocean.env_creator("squared"), env_kwargs={"distance_to_target": 2},
                                    env_config={"distance_to_target": 4})
    assert squared.observation_space.shape == (9, 9)


def test_multidimensional_box_actions_reach_rllib_flat():
    env = puffer_rllib.make_env(catalogue.SINGLE_AGENT["box_float64-box"])
    assert env.action_space.shape == (2,)
    env.reset(seed=0)
    env.step(np.zeros(2, dtype=np.float32))
    space = gymnasium.spaces.Box(-1.0, 1.0, (2, 3), np.float32)
    flat = puffer_rllib._rllib_action_space(space)
    assert flat.shape == (6,) and np.all(flat.low == -1.0)


class MatrixActionEnv(gymnasium.Env):
    """Box(2, 3) actions; the reward is minus the distance of the action from a target."""

    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (2, 3), np.float32)
    target = np.arange(6, dtype=np.float32).reshape(2, 3) / 6

    def reset(self, seed=None, options=None):
        return np.zeros(4, dtype=np.float32), {}

    def step(self, action):
        assert action.shape == (2, 3), action.shape
        return np.zeros(4, dtype=np.float32), -float(np.abs(action - self.target).sum()), True, False, {}


def make_matrix_action_env() -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(MatrixActionEnv())


def test_multidimensional_box_actions_are_reshaped_for_the_env():
    env = puffer_rllib.make_env(make_matrix_action_env)
    assert env.action_space.shape == (6,)
    env.reset(seed=0)
    _, reward, *_ = env.step(MatrixActionEnv.target.reshape(-1))
    assert reward == 0.0


def test_native_puffer_env_with_one_agent_is_a_gymnasium_env():
    env = puffer_rllib.make_env(ocean.env_creator("squared_native"), env_kwargs={"num_envs": 1})
    obs, _ = env.reset(seed=0)
    assert obs.shape == (7, 7)
    ends = 0
    for _ in range(9):
        obs, reward, terminal, truncated, info = env.step(np.int64(0))
        ends += terminal
        assert isinstance(reward, float) and obs.shape == (7, 7)
    assert ends == 3  # episodes of distance_to_target = 3 steps


def test_native_puffer_env_with_many_agents_is_refused():
    with pytest.raises(APIUsageError, match="num_envs=1"):
        puffer_rllib.make_env(ocean.env_creator("squared_native"), env_kwargs={"num_envs": 4})


@pytest.mark.parametrize("bad, match", [
    (dict(name="", env_creator=ocean.env_creator("squared")), "name"),
    (dict(name="x", env_creator="squared"), "callable"),
    (dict(name="x", env_creator=ocean.env_creator("squared"), env_args="abc"), "env_args"),
    (dict(name="x", env_creator=ocean.env_creator("squared"), env_kwargs=[1]), "env_kwargs"),
])
def test_register_env_rejects_bad_input(bad, match):
    with pytest.raises(APIUsageError, match=match):
        puffer_rllib.register_env(**bad)


def test_missing_rllib_names_the_extra():
    code = ("import sys; sys.modules['ray.rllib'] = None\n"
            "from pufferlib.exceptions import EnvironmentSetupError\n"
            "try:\n    import pufferlib.frameworks.rllib\n"
            "except EnvironmentSetupError as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install -e '.[rllib]'" in result.stdout, result.stderr[-2000:]


def test_make_env_rejects_non_envs():
    with pytest.raises(APIUsageError, match="neither a pufferlib env"):
        puffer_rllib.make_env(lambda: object())


def _run_multiagent(env, steps: int, seed: int = 0) -> int:
    """Random actions through a MultiAgentPufferEnv, checking RLlib's conventions at
    every step; the number of episodes that ended."""
    for i, space in enumerate(env.action_spaces.values()):
        space.seed(seed + i)
    obs, infos = env.reset(seed=seed)
    alive, done = set(obs), set()
    episodes = 0
    for _ in range(steps):
        assert set(infos) <= set(obs)
        assert set(env.agents) == set(obs)
        actions = {agent: env.action_spaces[agent].sample() for agent in alive}
        obs, rewards, terminals, truncations, infos = env.step(actions)
        reported = set(obs)
        assert set(env.agents) == reported
        assert reported.isdisjoint(done), "an agent was reported after it was done"
        assert set(rewards) == reported
        assert set(terminals) == set(truncations) == reported | {"__all__"}
        assert set(infos) <= reported
        for agent in reported:
            assert env.observation_spaces[agent].contains(obs[agent])
        done |= {agent for agent in reported if terminals[agent] or truncations[agent]}
        alive = (alive | reported) - done
        if terminals["__all__"] or truncations["__all__"]:
            episodes += 1
            obs, infos = env.reset()
            alive, done = set(obs), set()
    return episodes


@pytest.mark.parametrize("name", sorted(catalogue.MULTI_AGENT))
def test_multiagent_env_reports_only_present_agents(name):
    creator = catalogue.MULTI_AGENT[name]
    env = puffer_rllib.make_env(creator)
    inner = creator()
    inner_obs, _ = inner.reset(seed=0)
    obs, _ = env.reset(seed=0)
    assert set(obs) == set(inner_obs)
    assert _run_multiagent(env, 60) >= 2


def test_late_joining_agents_appear_when_they_join():
    env = puffer_rllib.make_env(catalogue.LATE_JOINER)
    obs, _ = env.reset(seed=0)
    assert sorted(obs) == ["agent_0", "agent_1"]  # the padded rows of agents 2 and 3 stay out
    obs, *_ = env.step({agent: 0 for agent in obs})
    assert sorted(obs) == ["agent_0", "agent_1", "agent_2", "agent_3"]
    assert _run_multiagent(env, 40) >= 2


@pytest.mark.parametrize("name", ["box-discrete", "nested-nested", "tuple_mixed-box"])
def test_rllib_multiagent_env_runner_samples_dying_agents(name):
    """RLlib's own MultiAgentEnvRunner (no cluster needed) samples episodes in which
    agents die at different steps, without raising MultiAgentEnvError."""
    env_name = puffer_rllib.register_env(f"puffer_catalogue_{name}", catalogue.MULTI_AGENT[name])
    spec = puffer_rllib.policy_spec(pufferlib.models.Default, hidden_size=16)
    config = shared_policy_config(env_name, spec, num_envs=2)
    runner = MultiAgentEnvRunner(config=config)
    try:
        episodes = runner.sample(num_timesteps=200, random_actions=False)
        assert episodes
        done = [episode for episode in episodes if episode.is_done]
        assert done
        # Agents die at different steps: some episode has agents of different lengths.
        assert any(len({len(agent) for agent in episode.agent_episodes.values()}) > 1 for episode in done)
        for episode in done:
            for agent_episode in episode.agent_episodes.values():
                assert agent_episode.is_done
                assert len(agent_episode) <= episode.env_t
    finally:
        runner.stop()


# ---------------------------------------------------------------------------------------
# policy_spec: the module matches the plain policy


def _module(env_creator, policy_class=pufferlib.models.Default, **kwargs):
    env = puffer_rllib.make_env(env_creator)
    spec = puffer_rllib.policy_spec(policy_class, **kwargs)
    spec.observation_space, spec.action_space = env.observation_space, env.action_space
    return spec.build(), env


CREATORS = {**catalogue.SINGLE_AGENT, "matrix_action": make_matrix_action_env}


@pytest.mark.parametrize("name", ["box-discrete", "box_image-multidiscrete", "box_float64-box", "dict-dict",
                                  "nested-nested", "dict_float-dict_box", "matrix_action"])
def test_module_distribution_matches_sample_logits(name):
    """RLlib's log-prob and entropy of the module's outputs equal pufferlib's own
    (``sample_logits``) for the same policy, for Discrete, MultiDiscrete and Box
    (multi-dimensional Box actions too, flattened for RLlib)."""
    torch.manual_seed(0)
    module, env = _module(CREATORS[name], hidden_size=16)
    obs = np.stack([env.reset(seed=seed)[0] for seed in range(5)])
    batch = {Columns.OBS: torch.as_tensor(obs)}
    out = module.forward_train(batch)
    dist = module.get_train_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    action = dist.sample()
    logits, value = module.policy(torch.as_tensor(obs))
    puffer_action = action.reshape(5, *module._puffer_action_space.shape) if not isinstance(
        module._puffer_action_space, gymnasium.spaces.Discrete) else action
    _, logprob, entropy = sample_logits(logits, puffer_action)
    torch.testing.assert_close(dist.logp(action), logprob)
    torch.testing.assert_close(dist.entropy(), entropy)
    torch.testing.assert_close(module.compute_values(batch), value.squeeze(-1))
    torch.testing.assert_close(module.compute_values(batch, out[Columns.EMBEDDINGS]), value.squeeze(-1))


def test_structured_observations_are_nativized_like_default():
    module, env = _module(ocean.env_creator("spaces"), hidden_size=8)
    puffer = ocean.make_env("spaces")
    plain = pufferlib.models.Default(puffer, hidden_size=8)
    assert module.policy.flatten.is_structured and module.policy.flatten.size == plain.flatten.size == 30
    plain.load_state_dict(module.policy.state_dict())
    obs = torch.as_tensor(np.stack([puffer.reset(seed=seed)[0] for seed in range(4)]))
    torch.testing.assert_close(module.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS],
                               torch.cat(plain(obs)[0], dim=-1))


def test_recurrent_module_carries_lstm_state():
    module, env = _module(ocean.env_creator("squared"), ocean.Policy, rnn_class=ocean.Recurrent,
                          rnn_kwargs={"input_size": 16, "hidden_size": 16}, hidden_size=16)
    assert module.is_stateful()
    state = module.get_initial_state()
    assert state["h"].shape == (1, 16)
    obs = torch.as_tensor(np.stack([env.reset(seed=s)[0] for s in range(3)]))
    seq = torch.stack([obs, obs, obs], dim=1)  # (B=3, T=3, 7, 7)
    zeros = {key: torch.zeros(3, *value.shape) for key, value in state.items()}
    out = module.forward_train({Columns.OBS: seq, Columns.STATE_IN: zeros})
    assert out[Columns.ACTION_DIST_INPUTS].shape == (3, 3, 8)
    assert out[Columns.EMBEDDINGS].shape == (3, 3)
    assert out[Columns.STATE_OUT]["h"].shape == (3, 1, 16)
    # Stepping one step at a time with the carried state gives the sequence's outputs.
    step_state = zeros
    for t in range(3):
        step = module.forward_inference({Columns.OBS: seq[:, t:t + 1], Columns.STATE_IN: step_state})
        torch.testing.assert_close(step[Columns.ACTION_DIST_INPUTS][:, 0],
                                   out[Columns.ACTION_DIST_INPUTS][:, t])
        step_state = step[Columns.STATE_OUT]


@pytest.mark.parametrize("bad, match", [
    (dict(policy_class="Default"), "policy_class"),
    (dict(policy_class=pufferlib.models.Default, rnn_class=len), "rnn_class"),
    (dict(policy_class=pufferlib.models.Default, rnn_kwargs={"hidden_size": 4}), "rnn_kwargs"),
])
def test_policy_spec_rejects_bad_input(bad, match):
    with pytest.raises(APIUsageError, match=match):
        puffer_rllib.policy_spec(**bad)


# ---------------------------------------------------------------------------------------
# RLlib PPO on a real Ray cluster


@pytest.fixture(scope="module")
def squared_run(ray_cluster):
    name = puffer_rllib.register_env("puffer_squared", ocean.env_creator("squared"))
    algo = ppo_config(name, puffer_rllib.policy_spec(ocean.Policy, hidden_size=64)).build_algo()
    try:
        returns = train(algo, 6)
        yield algo, returns
    finally:
        algo.stop()


@pytest.mark.slow
def test_ppo_learns_squared(squared_run):
    _, returns = squared_run
    # Random play scores about -0.1 per episode, optimal play 2.0.
    assert returns[0] < 0.4
    assert max(returns[-2:]) > 0.9, returns
    assert max(returns[-2:]) - returns[0] > 0.8, returns


def _greedy_rollout(env, act, seed: int, steps: int) -> tuple[list[int], float]:
    obs, _ = env.reset(seed=seed)
    actions, total = [], 0.0
    for _ in range(steps):
        action = act(obs)
        actions.append(action)
        obs, reward, terminal, truncated, _ = env.step(action)
        total += reward
        if terminal or truncated:
            obs, _ = env.reset()
    return actions, total


@pytest.mark.slow
def test_trained_weights_round_trip_into_the_plain_policy(squared_run):
    algo, _ = squared_run
    puffer = ocean.make_env("squared")
    plain = ocean.Policy(puffer, hidden_size=64)
    plain.load_state_dict(puffer_rllib.policy_state_dict(algo))  # strict: every key, same shapes
    module = algo.get_module()
    assert isinstance(module, puffer_rllib.PufferRLModule)

    def act_plain(obs):
        with torch.no_grad():
            logits, _ = plain(torch.as_tensor(obs)[None])
        return int(logits.argmax(-1))

    def act_rllib(obs):
        out = module.forward_inference({Columns.OBS: torch.as_tensor(obs)[None]})
        dist = module.get_inference_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
        return int(dist.to_deterministic().sample()[0])

    plain_actions, plain_return = _greedy_rollout(ocean.make_env("squared"), act_plain, seed=7, steps=60)
    rllib_actions, rllib_return = _greedy_rollout(ocean.make_env("squared"), act_rllib, seed=7, steps=60)
    assert plain_actions == rllib_actions
    assert plain_return == rllib_return
    assert plain_return > 0  # the trained greedy policy moves towards the targets


@pytest.mark.slow
def test_ppo_trains_multiagent_with_one_shared_policy(ray_cluster):
    name = puffer_rllib.register_env("puffer_multiagent", ocean.env_creator("multiagent"))
    config = shared_policy_config(name, puffer_rllib.policy_spec(ocean.Policy, hidden_size=32),
                                  batch=256, minibatch=64, num_envs=8)
    algo = config.build_algo()
    try:
        # One module for both agents, and no default one.
        assert isinstance(algo.get_module("shared"), puffer_rllib.PufferRLModule)
        assert algo.get_module() is None
        returns = train(algo, 5)
        plain = ocean.Policy(ocean.make_env("multiagent"), hidden_size=32)
        plain.load_state_dict(puffer_rllib.policy_state_dict(algo, "shared"))
    finally:
        algo.stop()
    # Episodes are one step; the episode return sums both agents: random 1.0, optimal 2.0.
    assert max(returns[-2:]) > 1.8, returns
    # Agent 1 observes 0 and must pick 0, agent 2 observes 1 and must pick 1.
    with torch.no_grad():
        logits, _ = plain(torch.tensor([[0.0], [1.0]]))
    assert logits.argmax(-1).tolist() == [0, 1]


@pytest.mark.slow
def test_ppo_trains_structured_observations(ray_cluster):
    name = puffer_rllib.register_env("puffer_spaces", ocean.env_creator("spaces"))
    algo = ppo_config(name, puffer_rllib.policy_spec(ocean.Policy, hidden_size=64),
                      batch=512, minibatch=128).build_algo()
    try:
        returns = train(algo, 6)
    finally:
        algo.stop()
    # One-step episodes: random 0.5, optimal 1.0.
    assert max(returns[-2:]) > 0.75, returns
    assert max(returns[-2:]) - returns[0] > 0.15, returns


@pytest.mark.slow
def test_ppo_trains_recurrent_policy(ray_cluster):
    name = puffer_rllib.register_env("puffer_squared_rnn", ocean.env_creator("squared"))
    spec = puffer_rllib.policy_spec(ocean.Policy, rnn_class=ocean.Recurrent,
                                    rnn_kwargs={"input_size": 64, "hidden_size": 64}, hidden_size=64)
    # Squared episodes are 3 steps: sequences of 4 keep padding small.
    config = ppo_config(name, spec, batch=512, minibatch=128).rl_module(model_config={"max_seq_len": 4})
    algo = config.build_algo()
    try:
        returns = train(algo, 6)
        module = algo.get_module()
        assert module.is_stateful() and module.model_config["max_seq_len"] == 4
        puffer = ocean.make_env("squared")
        plain = ocean.Recurrent(puffer, ocean.Policy(puffer, hidden_size=64), input_size=64, hidden_size=64)
        plain.load_state_dict(puffer_rllib.policy_state_dict(algo))
    finally:
        algo.stop()
    assert max(returns[-2:]) - returns[0] > 0.5, returns
    # The plain LSTM policy stepped with its own state acts as the RLlib module does.
    obs, _ = puffer.reset(seed=3)
    state, rllib_state = None, {key: torch.as_tensor(value)[None] for key, value in
                                module.get_initial_state().items()}
    for _ in range(6):
        with torch.no_grad():
            logits, _, state = plain(torch.as_tensor(obs)[None], state)
        out = module.forward_inference({Columns.OBS: torch.as_tensor(obs)[None, None],
                                        Columns.STATE_IN: rllib_state})
        torch.testing.assert_close(out[Columns.ACTION_DIST_INPUTS][:, 0], logits)
        rllib_state = out[Columns.STATE_OUT]
        obs, _, terminal, truncated, _ = puffer.step(int(logits.argmax()))
        if terminal or truncated:
            obs, _ = puffer.reset()
            state, rllib_state = None, {key: torch.zeros_like(value) for key, value in rllib_state.items()}


@pytest.mark.slow
def test_ppo_runs_box_actions_on_a_remote_env_runner(ray_cluster):
    """Box actions, and a puffer env built inside a Ray env-runner actor."""
    name = puffer_rllib.register_env("puffer_catalogue_box", catalogue.SINGLE_AGENT["box_float64-box"])
    config = (ppo_config(name, puffer_rllib.policy_spec(pufferlib.models.Default, hidden_size=16),
                         batch=256, minibatch=128, num_envs=4, num_epochs=1)
              .env_runners(num_env_runners=1)
              .environment(normalize_actions=False, clip_actions=True))
    algo = config.build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    assert result["env_runners"]["num_env_steps_sampled"] >= 256
    assert np.isfinite(result["learners"]["default_policy"]["policy_loss"])


# ---------------------------------------------------------------------------------------
# The example


@pytest.mark.slow
def test_example_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "rllib_ppo.py"), "--iterations", "2",
                             "--batch-size", "256"], capture_output=True, text=True, env=env, timeout=600,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "round trip: plain pufferlib policy acts the same as RLlib's module" in result.stdout
    assert "iteration 1: mean episode return" in result.stdout


@pytest.mark.slow
def test_readme_snippet_runs(tmp_path):
    """The README's RLlib snippet, with its training loop cut to one iteration."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## RLlib"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("\n```\n")]
    assert "for _ in range(6):" in code
    code = code.replace("for _ in range(6):", "for _ in range(1):")
    code += "\nmultiagent.build_algo().stop()\nprint('snippet ok', len(policy_state_dict.__doc__))\n"
    script = tmp_path / "snippet.py"
    script.write_text(code)
    # RAY_ADDRESS=local: a cluster of the snippet's own, never another session's.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RAY_ADDRESS": "local"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                            timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "snippet ok" in result.stdout
