"""Build the Cython hot core (``galileo/_fast``).

Every ``galileo/_fast/<name>.pyx`` becomes the extension ``galileo._fast.<name>``; the
pure-Python twins live in ``galileo._fast._reference``. When Cython or a C compiler is
missing the package still installs; the import layer then falls back to the twin
(``galileo.fast_backend()`` says which one is active).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent


def _extensions() -> list[object]:
    if os.environ.get("GALILEO_NO_CYTHON"):
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        print("galileo: Cython not available, installing the pure-Python _fast twin only")
        return []
    sources = sorted((HERE / "galileo" / "_fast").glob("*.pyx"))
    extensions = [
        Extension(
            f"galileo._fast.{pyx.stem}",
            [str(pyx.relative_to(HERE))],
            extra_compile_args=["-O3"],
        )
        for pyx in sources
    ]
    return list(
        cythonize(
            extensions,
            compiler_directives={
                "language_level": 3,
                "boundscheck": False,
                "wraparound": False,
                "initializedcheck": False,
            },
            quiet=False,
        )
    )


setup(ext_modules=_extensions())
