import pytest

from omnidrop.uploads.errors import ExtensionNotAllowed, InvalidFilename
from omnidrop.uploads.names import check_extension, clean_text, flatten_filename

ALLOWED = ["jpg", "e57", "tar.gz", "gz"]


@pytest.mark.parametrize(
    ("raw", "flat"),
    [
        ("scan.e57", "scan.e57"),
        ("floor1/img 01.jpg", "floor1img 01.jpg"),
        ("..\\..\\windows\\evil.jpg", "windowsevil.jpg"),
        ("../../etc/passwd.jpg", "etcpasswd.jpg"),
        ('we"ird:<name>|?*.jpg', "weirdname.jpg"),
        ("tab\tand\nnewline.jpg", "tabandnewline.jpg"),
        ("  .hidden.jpg  ", "hidden.jpg"),
        ("trailing.jpg. ", "trailing.jpg"),
        ("Ка́мера.jpg", "Ка́мера.jpg"),
    ],
)
def test_flatten_strips_separators_and_unsafe_characters(raw, flat):
    assert flatten_filename(raw) == flat


@pytest.mark.parametrize("raw", ["", "..", "/", "...", "\x00", "a" * 256 + ".jpg"])
def test_unusable_names_are_refused(raw):
    with pytest.raises(InvalidFilename):
        flatten_filename(raw)


def test_extension_prefers_the_longest_allowed_suffix():
    assert check_extension("scan.tar.gz", ALLOWED) == "tar.gz"
    assert check_extension("PHOTO.JPG", ALLOWED) == "jpg"


@pytest.mark.parametrize(("name", "ext"), [("run.exe", "exe"), ("README", ""), ("x.jpg.exe", "exe")])
def test_disallowed_extension_names_itself_and_the_allowed_list(name, ext):
    with pytest.raises(ExtensionNotAllowed) as info:
        check_extension(name, ALLOWED)
    assert info.value.details == {"extension": ext, "allowed": sorted(ALLOWED)}


def test_unique_names_count_on_per_name_so_many_copies_cost_linear_probes():
    from omnidrop.uploads.names import UniqueNames

    names = UniqueNames()
    given = [names.claim("Same.jpg") for _ in range(8000)]
    assert given[:3] == ["Same.jpg", "Same_2.jpg", "Same_3.jpg"] and given[-1] == "Same_8000.jpg"
    assert names.probes == 7999  # one candidate per copy, not 1 + 2 + … + 7999
    assert names.claim("same.JPG") == "same_8001.JPG"  # casefolded: one name on any file system


def test_unique_names_step_over_literal_suffixes_once():
    from omnidrop.uploads.names import UniqueNames

    names = UniqueNames(first=1, fold=lambda n: n)
    literal = [names.claim(f"a_{i}.jpg") for i in range(1, 1001)]
    copies = [names.claim("a.jpg") for _ in range(1001)]
    assert literal[0] == "a_1.jpg" and copies[:2] == ["a.jpg", "a_1001.jpg"]
    assert len(set(literal + copies)) == 2001
    assert names.probes == 1000 + 1000  # each literal name stepped over once, plus one per copy after the first
    assert names.claim("A.jpg") == "A.jpg"  # identity fold: case matters


def test_unique_names_roll_back_to_a_mark():
    from omnidrop.uploads.names import UniqueNames

    names = UniqueNames()
    names.claim("a.jpg")
    mark = names.mark()
    assert [names.claim("a.jpg"), names.claim("b.jpg"), names.claim("a.jpg")] == ["a_2.jpg", "b.jpg", "a_3.jpg"]
    names.rollback(mark)
    assert "b.jpg" not in names and "a_2.jpg" not in names and "a.jpg" in names
    assert [names.claim("a.jpg"), names.claim("b.jpg")] == ["a_2.jpg", "b.jpg"]  # as if never claimed



@pytest.mark.parametrize(
    ("raw", "flat"),
    [
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # RIGHT-TO-LEFT OVERRIDE: displays as "invoiceexe.jpg"
        ("a\u202ab\u202bc\u202cd\u202de.jpg", "abcde.jpg"),  # embeddings and pop
        ("\u2066iso\u2067late\u2068d\u2069.jpg", "isolated.jpg"),  # isolates
        ("lrm\u200erlm\u200falm\u061c.jpg", "lrmrlmalm.jpg"),  # marks
        ("zero\u200bwidth\ufeff.jpg", "zerowidth.jpg"),
        ("c1\u0085\u009b.jpg", "c1.jpg"),  # C1 controls
        ("line\u2028para\u2029.jpg", "linepara.jpg"),
    ],
)
def test_bidi_controls_and_invisible_characters_are_removed(raw, flat):
    assert flatten_filename(raw) == flat


def test_made_up_names_follow_the_same_rule_but_are_never_refused():
    from omnidrop.uploads.names import safe_filename

    assert safe_filename("..", fallback="download") == "download"
    assert safe_filename("a\x00b.jpg") == "ab.jpg"
    assert safe_filename(["floor1", "..", "img\u202e 01.jpg"]) == "floor1_img 01.jpg"
    long = safe_filename("x" * 5000 + ".e57")
    assert long.endswith(".e57") and len(long.encode()) == 200
    assert safe_filename("\u202e") == "file"


@pytest.mark.parametrize(("raw", "clean"), [
    ("Office 20th July", "Office 20th July"),
    ("  inv\u202eoice\u202c gpj.insv\x00 ", "invoice gpj.insv"),  # bidi and NUL go, the text stays
    ("..", ".."),  # free text, never a path: punctuation stays
    ("floor 1/east: a\u200bb", "floor 1/east: ab"),
    ("e\u200b\u0301", "\u00e9"),  # NFC after the removal
    ("é" * 400, "é" * 300),
])
def test_clean_text_keeps_the_words_and_drops_invisible_characters(raw, clean):
    assert clean_text(raw, 300) == clean
