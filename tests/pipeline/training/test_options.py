"""training_parameters mapped onto the trainer's options: gsplat's defaults, a shorter run scaled, and the
focus area kept or refused, with what became of it: applied (how many Gaussians kept), or why not (a model
that is not geo-registered, polylines only, a box that misses the model)."""

import pytest

from omnidrop.pipeline.training.options import DEFAULT_STEPS, FocusArea, focus_note, training_options


def test_defaults_follow_gsplats_simple_trainer():
    options = training_options(None)
    assert (options.steps, options.sh_degree, options.sh_degree_interval, options.test_every) == (30_000, 3, 1000, 8)
    assert options.strategy_kwargs() == {"refine_start_iter": 500, "refine_stop_iter": 15_000, "reset_every": 3000,
                                         "refine_every": 100}
    assert options.focus_area is None and options.notes == [] and training_options({}) == options


def test_a_shorter_run_densifies_over_the_same_share_of_its_steps():
    options = training_options(None, steps=DEFAULT_STEPS // 10)
    assert options.strategy_kwargs() == {"refine_start_iter": 50, "refine_stop_iter": 1500, "reset_every": 300,
                                         "refine_every": 10}
    assert options.sh_degree_interval == 100
    with pytest.raises(ValueError):
        training_options(None, steps=0)


def test_the_focus_area_box_is_mapped_and_its_fate_recorded():
    area = {"min_lat": 48.1, "min_lng": 11.5, "max_lat": 48.2, "max_lng": 11.6, "buffer_meters": 25,
            "crop_method": "box", "polylines": []}
    options = training_options({"focus_area": area})
    assert options.focus_area == FocusArea(48.1, 11.5, 48.2, 11.6, 25.0, "box")
    assert focus_note(training_options(None)) is None  # no area, nothing to say


def test_the_note_says_how_many_gaussians_the_box_kept():
    options = training_options({"focus_area": {"min_lat": 48.1, "min_lng": 11.5, "max_lat": 48.2, "max_lng": 11.6,
                                               "buffer_meters": 25}})
    note = focus_note(options, {"applied": True, "kept": 1200, "of": 5000})
    assert note.startswith("focus_area applied") and "kept 1200 of 5000 Gaussians" in note and "25 m" in note


@pytest.mark.parametrize("focus, geo_reason, says", [
    (None, "the frames carry no GPS positions",
     "not applied: the capture's model is not geo-registered (the frames carry no GPS positions)"),
    (None, None, "not applied: the capture's model is not geo-registered, so"),
    ({"applied": False, "kept": 800, "of": 800}, None, "holds none of the model, so all 800 Gaussians were kept"),
])
def test_the_note_says_why_the_box_was_not_applied(focus, geo_reason, says):
    options = training_options({"focus_area": {"min_lat": 1.0, "min_lng": 2.0, "max_lat": 1.1, "max_lng": 2.1}})
    assert says in focus_note(options, focus, geo_reason)


@pytest.mark.parametrize("area, note", [
    ({"polylines": ["_p~iF~ps|U_ulLnnqC"]}, "polylines are not applied: only a min/max"),
    ({"min_lat": 1.0, "max_lat": 2.0}, "no complete"),
])
def test_focus_areas_that_cannot_be_applied_say_so(area, note):
    options = training_options({"focus_area": area})
    assert options.focus_area is None and note in options.notes[0] and focus_note(options) is None


def test_polylines_beside_a_box_are_noted_the_box_is_used():
    options = training_options({"focus_area": {"min_lat": 1.0, "min_lng": 2.0, "max_lat": 1.1, "max_lng": 2.1,
                                               "polylines": ["_p~iF~ps|U_ulLnnqC"]}})
    assert options.focus_area is not None and options.notes == [
        "focus_area polylines are not applied: the min/max latitude-longitude box is"]


def test_an_inverted_box_is_refused():
    with pytest.raises(ValueError, match="focus_area"):
        training_options({"focus_area": {"min_lat": 2.0, "min_lng": 0.0, "max_lat": 1.0, "max_lng": 1.0}})
