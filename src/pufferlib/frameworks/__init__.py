"""Bindings to RL frameworks: ``cleanrl`` (PyTorch policies) and ``sb3`` (Stable-Baselines3)."""
