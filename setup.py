"""Builds gis/gmlfast/ (yakuba.gis._gmlfast), the compiled fast path of the CityGML reader (everything else is in
pyproject.toml). It reads libxml2's tree through lxml's C API, so it compiles against the
headers lxml ships; it is optional: without a compiler the pure-Python reader is used."""

from pathlib import Path

from setuptools import Extension, setup

try:
    import lxml

    include_dirs = lxml.get_include()
except ImportError:  # build isolation installs lxml (build-system.requires); this is a last resort
    include_dirs = []

setup(
    ext_modules=[
        Extension(
            "yakuba.gis._gmlfast",
            sorted(str(p) for p in Path("gis/gmlfast").glob("*.c*")),
            language="c++",  # links libstdc++ for std::from_chars (gis/gmlfast/numparse.cpp)
            include_dirs=include_dirs,
            depends=sorted(str(p) for p in Path("gis/gmlfast").glob("*.h")),
            extra_compile_args=["-O2", "-Wno-unused-function"],
            optional=True,
        )
    ]
)
