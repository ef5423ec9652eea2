"""Build the Cython hot core (``galileo/_fast``).

Every ``galileo/_fast/<name>.pyx`` becomes the extension ``galileo._fast.<name>``; the
pure-Python twins live in ``galileo._fast._reference``. When Cython or a C compiler is
missing the package still installs; the import layer then falls back to the twin
(``galileo.fast_backend()`` says which one is active).

``make annotate`` calls :func:`annotate` with the same directives, so the HTML shows the C
that the build really compiles.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).parent

COMPILER_DIRECTIVES: dict[str, object] = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    # C division: no Python zero-division check or floor fix-up in nogil code. Each kernel
    # guards its divisors (and the sign of its operands) itself; see galileo/_fast/*.pyx.
    "cdivision": True,
}


def _sources() -> list[Path]:
    return sorted((HERE / "galileo" / "_fast").glob("*.pyx"))


def _extensions() -> list[object]:
    if os.environ.get("GALILEO_NO_CYTHON"):
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        print("galileo: Cython not available, installing the pure-Python _fast twin only")
        return []
    extensions = [
        Extension(
            f"galileo._fast.{pyx.stem}",
            [str(pyx.relative_to(HERE))],
            extra_compile_args=["-O3"],
        )
        for pyx in _sources()
    ]
    return list(cythonize(extensions, compiler_directives=COMPILER_DIRECTIVES, quiet=False))


def annotate(out_dir: str = "build/annotate") -> list[Path]:
    """Write Cython's annotated HTML of every kernel under ``out_dir``; return the pages."""
    from Cython.Build import cythonize

    sources = [str(pyx.relative_to(HERE)) for pyx in _sources()]
    cythonize(
        sources,
        build_dir=out_dir,
        annotate=True,
        force=True,
        quiet=True,
        compiler_directives=COMPILER_DIRECTIVES,
    )
    return [Path(out_dir) / Path(src).with_suffix(".html") for src in sources]


if __name__ == "__main__":  # `setup.py build_ext` and PEP 517 backends run it as __main__
    from setuptools import setup

    setup(ext_modules=_extensions())
