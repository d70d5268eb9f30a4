import numpy as np
import pytest

from facelib.core.params import load_defaults
from facelib.core.scheme import SOURCE_NAMES, ClassScheme

DEFAULT = ClassScheme.from_params(load_defaults()["data"]["classes"])


def test_default_scheme_order_and_merge():
    assert DEFAULT.names == ("background", "skin", "eyebrows", "eyes", "nose", "mouth", "ears",
                             "glasses")
    table = DEFAULT.lookup_table()
    expected = {0: 0, 10: 0, 15: 0, 17: 0, 1: 1, 11: 1, 12: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4,
                7: 5, 8: 5, 9: 5, 13: 6, 14: 6, 16: 7}
    assert {i: int(table[i]) for i in SOURCE_NAMES} == expected
    assert table[18] == 255


def test_ears_and_glasses_get_their_own_classes():
    mask = np.array([[13, 14, 16, 0]], dtype=np.uint8)
    assert DEFAULT.remap(mask).tolist() == [[6, 6, 7, 0]]


def test_every_source_id_needs_exactly_one_class():
    classes = load_defaults()["data"]["classes"]
    classes["skin"]["ids"] = [1, 11, 12, 2]
    with pytest.raises(ValueError, match="source id 2 is in both"):
        ClassScheme.from_params(classes)


def test_flip_permutation_only_when_left_and_right_are_apart():
    assert DEFAULT.flip_permutation() is None
    classes = load_defaults()["data"]["classes"]
    classes["eyes"]["ids"] = [4]
    classes["right_eye"] = {"ids": [5], "color": [1, 2, 3]}
    scheme = ClassScheme.from_params(classes)
    perm = scheme.flip_permutation()
    eye, right = scheme.names.index("eyes"), scheme.names.index("right_eye")
    assert perm[eye] == right and perm[right] == eye
