import jax
import jax.numpy as jnp
import numpy as np
import pytest

from needle_router.model import get_config, init_params


def scrambled_params(config, seed: int = 0):
    """Random weights that make a random model's output depend on everything.

    At init the gates are sigmoid(0) and norm gains 1, so a random model mostly echoes its
    input token through the tied embedding; larger gates, random gains and louder output
    projections make the self-attention cache, RoPE positions and cross-attention all matter.
    """
    cfg = get_config(config)
    rng = np.random.default_rng(seed)
    params = init_params(cfg, seed=seed)

    def scramble(path, leaf):
        name = path[-1].key
        if name in ("gate", "self_gate", "cross_gate"):
            return jnp.asarray(rng.uniform(1.0, 4.0), jnp.float32)
        if name == "scale":
            return jnp.asarray(rng.normal(0.0, 0.5, leaf.shape), jnp.float32)
        if name == "kernel" and path[-2].key == "o_proj":
            return leaf * 4.0
        return leaf

    return jax.tree_util.tree_map_with_path(scramble, params)


@pytest.fixture(scope="session")
def tiny_scrambled():
    return get_config("needle-tiny"), scrambled_params("needle-tiny", seed=3)
