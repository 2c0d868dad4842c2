"""Bindings to RL frameworks: ``cleanrl`` (PyTorch policies), ``sb3`` (Stable-Baselines3) and
``rllib`` (RLlib's new API stack)."""
