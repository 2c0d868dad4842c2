"""Tests of ``pufferlib.spaces`` (spec section 1 and ``joint_space`` of 3.1)."""

from __future__ import annotations

import subprocess
import sys

import gymnasium
import numpy as np
import pytest

from pufferlib import spaces
from pufferlib.exceptions import APIUsageError


@pytest.mark.parametrize("name,space", [
    ("Box", gymnasium.spaces.Box(0, 1, (2,))),
    ("Dict", gymnasium.spaces.Dict({"a": gymnasium.spaces.Discrete(2)})),
    ("Discrete", gymnasium.spaces.Discrete(3)),
    ("MultiBinary", gymnasium.spaces.MultiBinary(3)),
    ("MultiDiscrete", gymnasium.spaces.MultiDiscrete([2, 3])),
    ("Tuple", gymnasium.spaces.Tuple((gymnasium.spaces.Discrete(2),))),
])
def test_space_names_work_in_isinstance(name, space):
    assert isinstance(space, getattr(spaces, name))
    others = [other for other in ("Box", "Dict", "Discrete", "MultiBinary", "MultiDiscrete", "Tuple")
              if other != name]
    assert not any(isinstance(space, getattr(spaces, other)) for other in others)


def test_legacy_gym_is_not_imported():
    # In a fresh interpreter: other tests (procgen, griddly) import gym into this one.
    code = "import sys, pufferlib.spaces, pufferlib.emulation; print('gym' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_joint_discrete():
    joint = spaces.joint_space(gymnasium.spaces.Discrete(4), 3)
    assert joint == gymnasium.spaces.MultiDiscrete([4, 4, 4])


def test_joint_multidiscrete():
    joint = spaces.joint_space(gymnasium.spaces.MultiDiscrete([2, 5]), 3)
    assert isinstance(joint, gymnasium.spaces.Box) and joint.shape == (3, 2)
    assert np.issubdtype(joint.dtype, np.integer)
    assert joint.low.tolist() == [[0, 0]] * 3 and joint.high.tolist() == [[1, 4]] * 3
    assert joint.contains(np.array([[1, 4], [0, 0], [1, 2]], joint.dtype))
    assert not joint.contains(np.array([[2, 4], [0, 0], [1, 2]], joint.dtype))


def test_joint_multidiscrete_keeps_its_start():
    joint = spaces.joint_space(gymnasium.spaces.MultiDiscrete([2, 5], start=[1, -2]), 2)
    assert joint.low.tolist() == [[1, -2]] * 2 and joint.high.tolist() == [[2, 2]] * 2


def test_joint_box_stacks_bounds():
    box = gymnasium.spaces.Box(np.array([0.0, -1.0]), np.array([1.0, 2.0]), dtype=np.float64)
    joint = spaces.joint_space(box, 4)
    assert joint.shape == (4, 2) and joint.dtype == np.float64
    assert joint.low.tolist() == [[0.0, -1.0]] * 4 and joint.high.tolist() == [[1.0, 2.0]] * 4


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_joint_space_rejects_bad_counts(n):
    with pytest.raises(APIUsageError, match="positive integer"):
        spaces.joint_space(gymnasium.spaces.Discrete(2), n)


def test_joint_space_rejects_composites_and_says_to_emulate():
    with pytest.raises(APIUsageError, match="pufferlib.emulation"):
        spaces.joint_space(gymnasium.spaces.Dict({"a": gymnasium.spaces.Discrete(2)}), 2)
