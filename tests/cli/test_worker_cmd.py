"""`omnidrop worker --queue`: the gpu queue is refused, with the reason, on a machine that cannot train
splats (this one: no torch/gsplat, no CUDA), before anything is consumed; an unknown queue is a usage error."""

import os

from tests.support.server import run_cli


def test_the_gpu_queue_is_refused_without_cuda(tmp_path):
    env = {**os.environ, "OMNIDROP_DATA_DIR": str(tmp_path)}
    done = run_cli(["worker", "--queue", "gpu"], env)
    assert done.returncode == 2
    assert "refusing to start, splat training needs CUDA" in done.stderr
    assert "[gpu] extra" in done.stderr or "no CUDA device" in done.stderr


def test_an_unknown_queue_is_a_usage_error(tmp_path):
    done = run_cli(["worker", "--queue", "tpu"], {**os.environ, "OMNIDROP_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2 and "unknown queue 'tpu'" in done.stderr
