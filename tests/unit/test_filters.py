"""plugins/filter/greenlight.py: the one derivation of a release's image references."""

import pytest

from ansible_collections.greenlight.deploy.plugins.filter import greenlight as filters

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_a_release_image_is_its_repository_tagged_by_the_commit() -> None:
    refs = filters.image_refs({"backend": "shop-backend", "frontend": "shop-frontend"}, COMMIT)
    assert refs == {"backend": "shop-backend:0123456789ab", "frontend": "shop-frontend:0123456789ab"}
    assert filters.FilterModule().filters()["image_tag"](COMMIT) == "0123456789ab"


@pytest.mark.parametrize("commit", ["", None, "abc"])
def test_no_commit_is_an_error_not_an_empty_tag(commit: object) -> None:
    with pytest.raises(ValueError, match="is not a commit"):
        filters.image_refs({"backend": "shop-backend"}, commit)
