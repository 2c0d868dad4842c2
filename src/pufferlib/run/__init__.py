"""The run layer: from an env spec and options to a trained, saved and evaluated policy.

Light modules (no torch: ``puffer --help`` stays fast) under heavy ones:

- ``options``: an option's declaration (type, default, help, bounds) and the checks derived from it;
- ``sections``: the typed ``vec``, ``train`` and ``sweep`` sections, each key declared once;
- ``catalog``: the shipped TOML files (``[default]`` plus a table per environment);
- ``spec``: env specs (``squared``, ``Acrobot-v1``, ``mymodule:make_env``) resolved once into an
  ``EnvTarget`` (factory, policy, and the signatures that declare the env/policy/rnn options);
- ``config``: ``RunConfig``, every section checked, serializable to ``config.json``; ``load``;
- ``folders``: run folders, their files, and the rules that keep runs from being lost or mixed;
- ``build`` (heavy): the vecenv, the policy and the trainer, built in one place;
- ``training`` / ``evaluation`` / ``autotune`` (heavy): what ``puffer train``, ``eval`` and
  ``autotune`` do.

::

    from pufferlib import run

    config = run.load("squared", overrides={"train": {"total_timesteps": 50_000}})
    trainer = run.train(config, "my-run")
    result = run.evaluate(config, checkpoint=trainer.exp_dir, episodes=10)
"""

from pufferlib.run.autotune import autotune, autotune_flags
from pufferlib.run.build import make_policy, make_trainer, make_vecenv
from pufferlib.run.config import EnvConfig, PolicyConfig, RunConfig, load
from pufferlib.run.evaluation import Evaluation, evaluate
from pufferlib.run.sections import SweepConfig, TrainConfig, VecConfig
from pufferlib.run.training import Terminated, train

__all__ = ["EnvConfig", "Evaluation", "PolicyConfig", "RunConfig", "SweepConfig", "Terminated", "TrainConfig",
           "VecConfig", "autotune", "autotune_flags", "evaluate", "load", "make_policy", "make_trainer",
           "make_vecenv", "train"]
