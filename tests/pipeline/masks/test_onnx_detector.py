"""The ONNX Runtime detector, driven by a tiny model built here with the contract it documents."""

import json

import pytest
from PIL import Image

from omnidrop.pipeline.masks.loading import configured_detector
from omnidrop.pipeline.masks.onnx_detector import ModelError, OnnxDetector
from omnidrop.settings import Settings
from tests.support.vehicles import GREEN_BOX, RED_BOX, damaged_car, tiny_damage_model


def bbox(rings):
    xs = [p[0] for r in rings for p in r]
    ys = [p[1] for r in rings for p in r]
    return min(xs), min(ys), max(xs), max(ys)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_damage_model(tmp_path_factory.mktemp("model") / "damage.onnx")


def test_detects_instances_with_class_score_and_polygons_in_frame_pixels(model):
    found = OnnxDetector(model).detect(damaged_car(0))
    assert [(d.label, round(d.score, 2)) for d in found] == [("dent", 0.91), ("scratch", 0.77)]
    # The model sees the frame at 64x32 (a fifth): its mask outlines land within a model pixel of the patch.
    for det, box in zip(found, (RED_BOX, GREEN_BOX)):
        x0, y0, x1, y1 = bbox(det.polygons)
        assert abs(x0 - box[0]) <= 5 and abs(y0 - box[1]) <= 5 and abs(x1 - box[2]) <= 5 and abs(y1 - box[3]) <= 5


def test_score_threshold_and_missing_instances(model):
    assert [d.label for d in OnnxDetector(model, score_threshold=0.8).detect(damaged_car(0))] == ["dent"]
    plain = Image.new("RGB", (320, 160), (90, 90, 90))
    assert OnnxDetector(model).detect(plain) == []  # masks empty: nothing to outline


def test_class_names_from_settings_when_no_sidecar(model, tmp_path):
    copy = tmp_path / "bare.onnx"
    copy.write_bytes(model.read_bytes())
    assert [d.label for d in OnnxDetector(copy, ["a"]).detect(damaged_car(0))] == ["a", "class_1"]


def test_a_file_that_is_no_model_is_refused(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        OnnxDetector(bad)


def test_configured_detector_is_none_without_a_model_and_cached_with_one(model, tmp_path):
    assert configured_detector(Settings(data_dir=tmp_path)) is None
    settings = Settings(data_dir=tmp_path, damage_model_path=model)
    assert configured_detector(settings) is configured_detector(settings)
    assert json.loads(model.with_suffix(".json").read_text())["classes"] == ["dent", "scratch"]
