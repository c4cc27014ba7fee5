"""filter_plugins/greenlight.py: the one derivation of a release's image references."""

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("greenlight_filters", Path(__file__).parents[2] / "filter_plugins/greenlight.py")
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_a_release_image_is_its_repository_tagged_by_the_commit() -> None:
    refs = filters.image_refs({"backend": "shop-backend", "frontend": "shop-frontend"}, COMMIT)
    assert refs == {"backend": "shop-backend:0123456789ab", "frontend": "shop-frontend:0123456789ab"}
    assert filters.FilterModule().filters()["greenlight_image_tag"](COMMIT) == "0123456789ab"


@pytest.mark.parametrize("commit", ["", None, "abc"])
def test_no_commit_is_an_error_not_an_empty_tag(commit: object) -> None:
    with pytest.raises(ValueError, match="is not a commit"):
        filters.image_refs({"backend": "shop-backend"}, commit)
