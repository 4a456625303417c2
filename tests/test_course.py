"""Tests for course/: the handout's facts, the noise of a 200-image accuracy, the region marks."""
import math

import numpy as np
import pytest
from helpers import ROOT

from course import facts
from course.contract import CONTRACT, FILES, REGION, REGIONS, SIGNATURES
from course.regions import MarkError, blank, outside_regions, regions, solution_lines


def test_the_handout_split_is_the_skeletons():
    from sklearn.model_selection import train_test_split

    import utils

    X_train, y_train, X_test, y_test = utils.load_mnist_f()
    s = facts.handout_split(X_train, y_train, X_test, y_test)
    a, b, c, d = train_test_split(X_train, y_train, train_size=2000, test_size=200, random_state=42)
    e, _, f, _ = train_test_split(X_test, y_test, train_size=200, test_size=1, random_state=42)
    for got, want in zip(s, (a, c, b, d, e, f)):
        assert np.array_equal(got, want)


def test_a_threshold_is_passed_within_one_standard_error_of_a_200_image_accuracy():
    """sqrt(t (1 - t) / 200): about 0.030, 0.028 and 0.025 for 0.77, 0.80 and 0.85."""
    assert {m: round(se, 4) for m, se in facts.NOISE.items()} == {
        "numpy_ann": 0.0298, "pytorch_ann": 0.0283, "pytorch_cnn": 0.0252}
    assert facts.PASS_MARKS["pytorch_cnn"] == pytest.approx(0.85 - math.sqrt(0.85 * 0.15 / 200))
    # On 200 images accuracies come in steps of 0.005: 0.825 passes 3.2, 0.820 does not.
    assert 0.825 >= facts.PASS_MARKS["pytorch_cnn"] > 0.820


def test_the_skeleton_has_14_13_and_2_regions_plus_one_for_the_cross_entropy():
    """The course's skeleton has 14, 13 and 2 regions; the handout adds one, for the body of
    NumpyANN._cross_entropy that students write without a marked region there."""
    assert REGIONS == {"numpy_ann.py": 14 + 1, "pytorch_ann.py": 13, "pytorch_cnn.py": 2}
    assert CONTRACT["numpy_ann.py"]["NumpyANN._cross_entropy"][1] == [REGION]
    assert SIGNATURES["PyTorchCNN.train"] == "(self, X_train, y_train, X_val, y_val, epochs=10, learning_rate=0.001)"


TEXT = '''class A:
    def f(self):
        """Doc."""
        # >>> YOUR CODE HERE >>>
        x = 1
        y = 2
        # <<< END OF YOUR CODE <<<
        return x + y
'''


def test_blank_replaces_each_regions_body_with_a_placeholder_naming_its_method():
    assert blank(TEXT) == TEXT.replace("        x = 1\n        y = 2\n",
                                       '        raise NotImplementedError("A.f: your code here")\n')
    assert outside_regions(blank(TEXT)) == outside_regions(TEXT)
    assert solution_lines(TEXT) == [("A.f", "        x = 1"), ("A.f", "        y = 2")]
    [region] = regions(TEXT)
    assert (region.qualname, region.indent, region.start, region.end) == ("A.f", "        ", 3, 6)


@pytest.mark.parametrize("text, match", [
    ("def f():\n    # >>> YOUR CODE HERE >>>\n    return 1\n", "line 2: # >>> YOUR CODE HERE >>> is never closed"),
    ("def f():\n    return 1\n    # <<< END OF YOUR CODE <<<\n", "line 3: # <<< END OF YOUR CODE <<< without"),
    ("def f():\n    # >>> YOUR CODE HERE >>>\n    # >>> YOUR CODE HERE >>>\n    pass\n",
     "line 3: a region opens inside"),
    ("# >>> YOUR CODE HERE >>>\nx = 1\n# <<< END OF YOUR CODE <<<\n", "line 1: a region outside every function"),
])
def test_marks_that_do_not_pair_up_are_errors_naming_the_line(text, match):
    with pytest.raises(MarkError, match=match):
        regions(text, "f.py")


@pytest.mark.parametrize("name", FILES)
def test_every_solution_region_holds_code(name):
    found = regions((ROOT / name).read_text(), name)
    assert len(found) == REGIONS[name]
    assert all(any(line.strip() and not line.strip().startswith("#") for line in r.code) for r in found)
