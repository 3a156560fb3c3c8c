import pytest

from omnidrop.uploads.errors import ExtensionNotAllowed, InvalidFilename
from omnidrop.uploads.names import check_extension, flatten_filename

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
