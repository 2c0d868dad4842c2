"""Episode statistics from the envs' infos (pufferlib.episodes)."""

from __future__ import annotations

import math

from pufferlib.episodes import EpisodeLog


def test_a_native_summary_counts_as_its_episodes():
    log = EpisodeLog()
    log.add([{"episode_return": 2.0, "score": 1.0, "n": 3.0}, {"episode_return": 5.0}, {"other": "text"}])
    assert log.episodes == 4
    means = log.take_means()
    assert means["episode_return"] == (3 * 2.0 + 5.0) / 4 and means["score"] == 1.0
    assert log.take_means() == {}  # since the last report: nothing


def test_the_score_is_the_mean_of_the_last_hundred_episodes():
    log = EpisodeLog()
    assert math.isnan(log.score())
    log.add([{"episode_return": 0.0, "n": 150.0}, {"episode_return": 1.0, "n": 50.0}])
    assert log.score() == 0.5  # score absent: episode_return, over the last 100 (50 zeros, 50 ones)
    log.add([{"score": 3.0}])
    assert log.score() == 3.0 and log.score("episode_return") == 0.5


def test_the_log_survives_a_checkpoint():
    log = EpisodeLog()
    log.add([{"episode_return": 1.0, "agent": 3}])
    restored = EpisodeLog()
    restored.load_state_dict(log.state_dict(), episodes=log.episodes)
    assert restored.score() == 1.0 and restored.episodes == 1 and "agent" not in restored.recent
