"""dm_control tasks are continuous control like Gymnasium's MuJoCo envs: the same policies serve."""

from pufferlib.environments.mujoco.torch import Policy, Recurrent

__all__ = ["Policy", "Recurrent"]
