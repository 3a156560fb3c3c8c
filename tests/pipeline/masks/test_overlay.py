"""Mask frames: translucent fills per class, outlines and labels drawn over the frame."""

import io

from PIL import Image

from omnidrop.pipeline.masks.detector import Detection
from omnidrop.pipeline.masks.overlay import FILL_ALPHA, colour, render


def test_fill_is_translucent_in_the_class_colour_and_outside_is_untouched():
    frame = Image.new("RGB", (200, 100), (100, 100, 100))
    dent = Detection("dent", 0.9, [[[100, 40], [180, 40], [180, 90], [100, 90]]])
    out = Image.open(io.BytesIO(render(frame, [dent], quality=95))).convert("RGB")
    inside, outside = out.getpixel((140, 70)), out.getpixel((20, 80))
    a = FILL_ALPHA / 255
    expected = tuple(round(c * a + 100 * (1 - a)) for c in colour("dent"))
    assert all(abs(x - y) <= 6 for x, y in zip(inside, expected)), (inside, expected)
    assert all(abs(x - 100) <= 3 for x in outside)
    edge = out.getpixel((100, 65))  # on the outline: the full colour
    assert all(abs(x - y) <= 30 for x, y in zip(edge, colour("dent")))


def test_label_is_drawn_above_the_instance_and_no_detection_leaves_the_frame():
    frame = Image.new("RGB", (200, 100), (100, 100, 100))
    out = Image.open(io.BytesIO(render(frame, [Detection("scratch", 0.5, [[[60, 60], [120, 60], [90, 90]]])])))
    label_area = out.convert("L").crop((60, 35, 110, 58))
    low, high = label_area.getextrema()
    assert high - low > 100  # white text on a colour box
    plain = Image.open(io.BytesIO(render(frame, []))).convert("RGB")
    assert all(abs(c - 100) <= 3 for c in plain.getpixel((50, 50)))


def test_unknown_classes_get_a_stable_colour():
    assert colour("rust") == colour("rust") != colour("hail")
    assert colour("Dent") == colour("dent")
