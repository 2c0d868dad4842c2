"""A user package that registers Gymnasium ids on import (used with ``--import user_registry``)."""

import gymnasium

# An id no binding has: trained with `--import user_registry --env UserDictTuple-v0`.
gymnasium.register("UserDictTuple-v0", entry_point="user_envs:DictTupleEnv", kwargs={"length": 6})
# The same name as the bundled `squared` binding: `--env squared` becomes ambiguous.
gymnasium.register("squared", entry_point="user_envs:DictTupleEnv")
