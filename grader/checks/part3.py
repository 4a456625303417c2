"""Part 3 (pytorch_cnn.py, PyTorchCNN): item 3.1, the architecture.

The expected architecture is the handout's, written out here as its docstring states it; its
parameter count is computed from the layer sizes, and the seeding is checked against the draws
the seeds start (``grader/cases.py``).
"""
from __future__ import annotations

from .common import Fail, Sessions, check, get, new, op, part, short

CLS = "PyTorchCNN"
CHANNELS = ((1, 32), (32, 64), (64, 128), (128, 256))


def handout_modules(num_classes=10):
    """The handout's 24 modules as (type, settings), in order."""
    layers = []
    for c_in, c_out in CHANNELS:
        layers += [("Conv2d", dict(in_channels=c_in, out_channels=c_out, kernel_size=[3, 3], stride=[1, 1],
                                   padding=[1, 1])),
                   ("ReLU", {}), ("MaxPool2d", dict(kernel_size=2, stride=2)),
                   ("BatchNorm2d", dict(num_features=c_out)), ("Dropout", dict(p=0.3))]
    return layers + [("Flatten", {}), ("Linear", dict(in_features=256, out_features=128)), ("ReLU", {}),
                     ("Linear", dict(in_features=128, out_features=num_classes))]


def handout_parameters(num_classes=10) -> int:
    convs = sum(c_out * (c_in * 9 + 1) + 2 * c_out for c_in, c_out in CHANNELS)  # conv + batch-norm scale, shift
    return convs + 128 * (256 + 1) + num_classes * (128 + 1)


def settings_text(kind, s) -> str:
    if kind == "Conv2d":
        return (f"Conv2d({s.get('in_channels')}, {s.get('out_channels')}, kernel_size={short(s.get('kernel_size'))}, "
                f"stride={short(s.get('stride'))}, padding={short(s.get('padding'))})")
    if kind == "MaxPool2d":
        return f"MaxPool2d(kernel_size={s.get('kernel_size')}, stride={s.get('stride')})"
    if kind == "BatchNorm2d":
        return f"BatchNorm2d({s.get('num_features')})"
    if kind == "Dropout":
        return f"Dropout(p={s.get('p')})"
    if kind == "Linear":
        return f"Linear({s.get('in_features')}, {s.get('out_features')})"
    return kind


@check("3.1")
def cnn_init(ctx):
    """__init__ builds the handout's 24 modules with their settings and seeds torch, numpy and random."""
    c = ctx.case("3.1")
    seed, other = c["seed"], c["other_seed"]
    plan = [[new(CLS), get("num_classes"), op("modules", label="describing self.model")],
            [new(CLS, num_classes=7), get("num_classes"), op("modules", label="describing self.model")],
            [new(CLS, random_seed=seed), op("draws", label="drawing from numpy's and Python's generators")],
            [new(CLS, random_seed=seed), op("digest", label="reading the parameters")],
            [new(CLS, random_seed=seed), op("digest", label="reading the parameters")],
            [new(CLS, random_seed=other), op("digest", label="reading the parameters")]]
    r = Sessions((yield plan), plan)

    def described(session):
        got = r.value(session, 2)
        if not isinstance(got, dict) or not isinstance(got.get("modules"), list):
            raise Fail(f"could not read self.model ({short(got)})")
        if not str(got.get("model_type", "")).endswith("Sequential"):
            raise Fail(f"expected self.model to be an nn.Sequential, got {short(got.get('model_type'))}")
        modules = [(str(m.get("type", "?")).rsplit(".", 1)[-1], m.get("settings") or {})
                   if isinstance(m, dict) else ("?", {}) for m in got["modules"]]
        return modules, got.get("parameters")

    def sequence():
        if r.attrs(0, 1).get("num_classes") != 10:
            raise Fail(f"expected self.num_classes == 10 by default, got {short(r.attrs(0, 1).get('num_classes'))}")
        got = [kind for kind, _ in described(0)[0]]
        want = [kind for kind, _ in handout_modules()]
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            swapped = sorted(got) == sorted(want) and len(got) == len(want)
            raise Fail(f"expected {len(want)} modules: 4 x (Conv2d, ReLU, MaxPool2d, BatchNorm2d, Dropout), Flatten, "
                       f"Linear, ReLU, Linear; got {len(got)}, first difference at module {first}: expected "
                       f"{want[first] if first < len(want) else 'nothing'}, "
                       f"got {got[first] if first < len(got) else 'nothing'}",
                       hint="each block is, in this order: Conv2d, ReLU, MaxPool2d, BatchNorm2d, Dropout" if swapped
                       else None)

    def settings():
        got, want = described(0)[0], handout_modules()
        problems = []
        for kind in ("Conv2d", "MaxPool2d", "BatchNorm2d", "Dropout", "Linear"):
            g = [settings_text(k, s) for k, s in got if k == kind]
            w = [settings_text(k, s) for k, s in want if k == kind]
            if g != w:
                problems.append(f"expected {', '.join(w)}; got {', '.join(g) or 'none'}")
        if problems:
            raise Fail("; ".join(problems))

    def count():
        for session, n in ((0, 10), (1, 7)):
            got, want = described(session)[1], handout_parameters(n)
            if got != want:
                raise Fail(f"with num_classes={n} expected {want:,} parameters, got {short(got)}")
        if r.attrs(1, 1).get("num_classes") != 7:
            raise Fail(f"with num_classes=7 expected self.num_classes == 7, "
                       f"got {short(r.attrs(1, 1).get('num_classes'))}")

    def seeding():
        draws = r.value(2, 1)
        if not (isinstance(draws, list) and len(draws) == 2):
            raise Fail(f"could not read the generators' draws ({short(draws)})")
        if draws[0] != c["numpy_draw"]:
            raise Fail(f"PyTorchCNN(random_seed={seed}) should call np.random.seed({seed})")
        if draws[1] != c["python_draw"]:
            raise Fail(f"PyTorchCNN(random_seed={seed}) should call random.seed({seed})")
        first, again, different = r.value(3, 1), r.value(4, 1), r.value(5, 1)
        if first != again:
            raise Fail(f"two PyTorchCNN(random_seed={seed}) should have identical weights (torch.manual_seed)")
        if first == different:
            raise Fail(f"PyTorchCNN(random_seed={seed}) and (random_seed={other}) have identical weights: the seed "
                       "is not used")
    return [part(2, "self.model: the 24 modules in order", sequence),
            part(2, "every layer's settings (channels, kernel 3, stride 1, padding 1, pool 2, p=0.3, "
                    "256->128->classes)", settings),
            part(1, "parameter count (422,986 for 10 classes) and num_classes", count),
            part(1, "seeds torch, numpy and random with random_seed", seeding)]
