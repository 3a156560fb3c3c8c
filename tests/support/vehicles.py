"""Client steps of the Vehicles 360 Video API, tiny test clips, and a tiny ONNX damage model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from PIL import Image

from tests.pipeline.media.conftest import write_video

RED_BOX = (40, 40, 120, 100)  # where clips made by `clip` show a red "dent" (x0, y0, x1, y1)
GREEN_BOX = (200, 60, 280, 120)  # and a green "scratch"
CLIP_SIZE = (320, 160)


def damaged_car(i: int, size: tuple[int, int] = CLIP_SIZE) -> Image.Image:
    """A grey frame with a red and a green patch; the shade of grey changes, so frames differ."""
    image = Image.new("RGB", size, (60 + i % 60, 70, 80))
    image.paste((220, 30, 30), RED_BOX)
    image.paste((30, 220, 30), GREEN_BOX)
    return image


def clip(path: Path, seconds: float = 2, rate: int = 30, size: tuple[int, int] = CLIP_SIZE, **kwargs) -> Path:
    return write_video(path, size=size, rate=rate, frames=int(seconds * rate),
                       image=lambda i: damaged_car(i, size), **kwargs)


def upload(base: str, headers: dict, video: bytes | Path, side: str = "OUTSIDE", vehicle_uuid: str | None = None,
           filename: str = "walkaround.mp4", content_type: str = "video/mp4", **kwargs) -> httpx.Response:
    data = {"side": side}
    if vehicle_uuid is not None:
        data["vehicle_uuid"] = vehicle_uuid
    content = video.read_bytes() if isinstance(video, Path) else video
    return httpx.post(f"{base}/360/upload", headers=headers, data=data,
                      files={"video": (filename, content, content_type)}, timeout=120, **kwargs)


def wait_frames(base: str, headers: dict, job_id: str, side: str = "OUTSIDE", timeout: float = 120) -> httpx.Response:
    """Poll GET /360/frames until it stops answering FRAMES_NOT_READY."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{base}/360/frames", params={"job_id": job_id, "side": side}, headers=headers)
        if not (r.status_code == 404 and r.json()["error"]["code"] == "FRAMES_NOT_READY"):
            return r
        time.sleep(0.2)
    raise AssertionError(f"frames of {job_id} never got ready: {r.text}")


def tiny_damage_model(path: Path, classes=("dent", "scratch")) -> Path:
    """An ONNX model with the detector's contract: a 64x32 input, two instances whose masks are where
    the red (instance 0) and green (instance 1) channels exceed 0.6. Written with the sidecar JSON."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def const(name, array):
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name + "_v"))

    def channel_mask(c: int) -> list:
        return [
            const(f"start{c}", np.array([c], np.int64)), const(f"end{c}", np.array([c + 1], np.int64)),
            const(f"axis{c}", np.array([1], np.int64)),
            helper.make_node("Slice", ["image", f"start{c}", f"end{c}", f"axis{c}"], [f"ch{c}"]),
            helper.make_node("Greater", [f"ch{c}", "threshold"], [f"on{c}"]),
            helper.make_node("Cast", [f"on{c}"], [f"mask{c}"], to=TensorProto.FLOAT),
        ]

    nodes = [
        const("threshold", np.array(0.6, np.float32)),
        *channel_mask(0), *channel_mask(1),
        helper.make_node("Concat", ["mask0", "mask1"], ["masks"], axis=0),  # [2, 1, 32, 64]
        const("scores", np.array([0.91, 0.77], np.float32)),
        const("labels", np.array([0, 1], np.int64)),
    ]
    graph = helper.make_graph(
        nodes, "tiny-damage",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 64])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("labels", TensorProto.INT64, [2]),
         helper.make_tensor_value_info("masks", TensorProto.FLOAT, [2, 1, 32, 64])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    path.with_suffix(".json").write_text(json.dumps({"classes": list(classes)}))
    return path


def rotten(src: Path, dest: Path, fraction: float = 0.1, seed: int = 7) -> Path:
    """A copy of an MP4 with a patch of random bytes in the middle of its media data (bit-rot); the
    container's index (moov, after the data) stays intact, so it still opens and demuxes."""
    import random

    data = bytearray(src.read_bytes())
    start, end = data.index(b"mdat") + 4, data.index(b"moov")
    middle, rng = (start + end) // 2, random.Random(seed)
    for i in range(middle, middle + int((end - start) * fraction)):
        data[i] = rng.randrange(256)
    dest.write_bytes(bytes(data))
    return dest
