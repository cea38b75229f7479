"""irgen.jax across two devices (host CPU devices, in a process of its own: the device count
is fixed when JAX starts): inside shard_map each shard draws its own part of the key's
stream (offset = its first element's index) and the whole equals the unsharded call's, draws
and gradients; a jit over sharded arrays gives the same."""
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent("""
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P
    import irgen.jax as ij
    assert len(jax.devices()) == 2
    mesh = jax.make_mesh((2,), ("x",))
    key = jax.random.key(0)
    plain = jnp.linspace(0.5, 5.0, 64)
    sharded = jax.device_put(plain, NamedSharding(mesh, P("x")))

    def part(a):
        offset = jax.lax.axis_index("x") * a.shape[0]
        return ij.gamma.rsample(key, a, 1.0, offset=offset)

    f = jax.jit(jax.shard_map(part, mesh=mesh, in_specs=P("x"), out_specs=P("x")))
    whole = ij.gamma.rsample(key, plain, 1.0)
    z = f(sharded)
    assert z.sharding.spec == P("x") and np.array_equal(z, whole)
    want = jax.grad(lambda a: (ij.gamma.rsample(key, a, 1.0) ** 2).sum())(plain)
    with jax.set_mesh(mesh):
        g = jax.jit(jax.grad(lambda a: (f(a) ** 2).sum()))(sharded)
        z2 = jax.jit(lambda a: ij.gamma.rsample(key, a, 1.0))(sharded)
        g2 = jax.jit(jax.grad(lambda a: (ij.gamma.rsample(key, a, 1.0) ** 2).sum()))(sharded)
        c2 = jax.jit(lambda a: ij.gamma.cdf(a, a, 1.0))(sharded)
    assert np.array_equal(g, want) and np.array_equal(z2, whole) and np.array_equal(g2, want)
    assert np.array_equal(c2, ij.gamma.cdf(plain, plain, 1.0))
    # a shard of a two-dimensional draw: rows split, offsets in elements
    alpha = jnp.full((4, 8), 2.0)
    rows = jax.jit(jax.shard_map(
        lambda a: ij.gamma.sample(key, a, 1.0,
                                  offset=jax.lax.axis_index("x") * a.size),
        mesh=mesh, in_specs=P("x"), out_specs=P("x")))
    got = rows(jax.device_put(alpha, NamedSharding(mesh, P("x"))))
    assert np.array_equal(got, ij.gamma.sample(key, alpha, 1.0))
    print("ok")
""")


def test_shards_draw_their_part_of_the_stream():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
