"""``evaluate``: play a saved (or untrained) policy for a number of episodes, render, record video.

The core of ``puffer eval``. One env object on the Serial backend plays; the episodes are
spread evenly over its agents (``rollout.play``), so a native env of 64 games reports the same
episodes as one game would. Frames go to ``on_frame`` (text for ``ansi``, images for
``rgb_array``); ``write_video`` saves images as a GIF or MP4. A video path that cannot be
written, or an env that cannot render images, is refused before anything is played.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.run.build import make_policy, make_vecenv
from pufferlib.run.config import RunConfig

VIDEO_SUFFIXES = (".gif", ".mp4")


@dataclass
class Evaluation:
    """What ``evaluate`` returns: the finished episodes' infos and the render mode used."""

    episodes: list[dict[str, float]]
    render_mode: str
    checkpoint: Path | None

    def means(self) -> dict[str, float]:
        """Mean of every numeric episode statistic."""
        keys = sorted({k for info in self.episodes for k, v in info.items() if isinstance(v, int | float)})
        return {k: sum(info[k] for info in self.episodes if k in info)
                / sum(1 for info in self.episodes if k in info) for k in keys}


def _metadata(env: Any, key: str) -> Any:
    for candidate in (env, getattr(env, "env", None)):
        value = getattr(candidate, "metadata", {}).get(key)
        if value:
            return value
    return None


def render_modes(config: RunConfig) -> list[str]:
    """The render modes the configured env declares."""
    env = config.target.creator(**config.env.kwargs)
    try:
        return list(_metadata(env, "render_modes") or [])
    finally:
        env.close()


def choose_render_mode(config: RunConfig, mode: str = "auto", video: bool = False) -> str:
    """``auto``: ANSI text if the env has it and no video is wanted, else ``rgb_array`` frames, else none.

    A video needs ``rgb_array``: asking for one from an env without it is an ``APIUsageError``.
    """
    modes = render_modes(config) if mode != "none" or video else []
    if video and "rgb_array" not in modes:
        raise APIUsageError(f"{config.name} cannot render images (its render modes: {modes or 'none'}), so "
                            f"it "
                            "cannot be recorded to a video: drop --video/--output.")
    if mode == "auto":
        if "ansi" in modes and not video:
            return "ansi"
        return "rgb_array" if "rgb_array" in modes else "none"
    if mode != "none" and mode not in modes:
        raise APIUsageError(f"{config.name} cannot render as {mode!r}; it supports {modes or 'nothing'}.")
    return mode


def check_video_path(path: str | os.PathLike) -> Path:
    """``path`` if a video can be written there (a .gif/.mp4 in a writable folder); else ``APIUsageError``.

    Checked before the episodes are played, so a bad path costs nothing.
    """
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise APIUsageError(f"--output {path}: the file must end in .gif or .mp4.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise APIUsageError(f"--output {path}: the folder {folder} does not exist.")
    if path.is_dir() or not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise APIUsageError(f"--output {path}: cannot write there (permissions); choose another path.")
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError as e:
            raise EnvironmentSetupError(e, "train") from e
    return path


def write_video(path: str | os.PathLike, frames: list, fps: float) -> None:
    """Frames to a GIF (or MP4 with the ``imageio-ffmpeg`` package); a failed write leaves no partial file."""
    import imageio.v2 as imageio

    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        if path.suffix.lower() == ".mp4":
            imageio.mimsave(tmp, frames, fps=fps)
        else:
            imageio.mimsave(tmp, frames, duration=1000 / fps, loop=0)
        os.replace(tmp, path)
    except OSError as e:
        raise APIUsageError(f"Could not write the video {path}: {e.strerror or e}.") from None
    finally:
        tmp.unlink(missing_ok=True)


def evaluate(config: RunConfig, checkpoint: str | os.PathLike | None = None, episodes: int = 10,
             max_steps: int = 100_000, render_mode: str = "none",
             on_frame: Callable[[Any, float], Any] | None = None, deterministic: bool = False,
             on_episode: Callable[[dict[str, float]], Any] | None = None) -> Evaluation:
    """Play ``episodes`` episodes with the policy saved at ``checkpoint`` (None: untrained).

    Actions are sampled from the policy (its most likely ones with ``deterministic``). With
    ``render_mode`` ``ansi`` or ``rgb_array``, ``on_frame(frame, fps)`` gets each frame of every
    requested episode; ``on_episode(info)`` runs as each finishes. At most ``max_steps`` steps
    are played. Bad checkpoints and counts are ``APIUsageError``.
    """
    from pufferlib.checkpoint import load_policy
    from pufferlib.rollout import play
    from pufferlib.trainer import seed_everything

    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise APIUsageError(f"--max-steps must be a positive integer, got {max_steps!r}.")
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise APIUsageError(f"--episodes must be a positive integer, got {episodes!r}.")
    seed_everything(config.train.seed)
    overrides = {"render_mode": render_mode} if render_mode != "none" else {}
    vecenv = make_vecenv(config, env_overrides=overrides, single=True)
    try:
        policy = make_policy(config, vecenv.driver_env)
        if checkpoint is not None:
            load_policy(policy, checkpoint)
        policy.eval()
        env = vecenv.driver_env
        fps = float(_metadata(env, "render_fps") or 8.0)

        def show() -> None:
            if on_frame is not None and render_mode != "none":
                on_frame(env.render(), fps)

        finished = play(vecenv, policy, episodes, max_steps, seed=config.train.seed, on_step=show,
                        deterministic=deterministic, on_episode=on_episode)
    finally:
        vecenv.close()
    return Evaluation(finished, render_mode, Path(checkpoint) if checkpoint is not None else None)
