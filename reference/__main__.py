"""``python -m reference MODULE [options]``: one of the reference's runs (``--help`` after MODULE
lists its options)."""
import importlib
import os
import sys

MODULES = ("numpy_ann", "pytorch_ann", "pytorch_cnn")
USAGE = (f"usage: python -m reference {{{','.join(MODULES)}}} [options]\n"
         "       python -m reference numpy_ann --help      (the options of one run)")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] not in MODULES:
        print(f"{USAGE}\npython -m reference: unknown module {argv[0]!r}", file=sys.stderr)
        return 2
    if argv[0] == "numpy_ann" and "numpy" not in sys.modules:
        # One BLAS thread, set before numpy loads its BLAS: these matrices are small (64 x 784 @
        # 784 x 64), and on a busy 2-core machine contending BLAS threads made this run 3-16x
        # slower. An explicit setting in the environment wins.
        for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(variable, "1")
    return importlib.import_module(f"reference.{argv[0]}").main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
