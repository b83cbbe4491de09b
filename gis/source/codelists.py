"""Code lists, resolved per dataset through each attribute's ``codeSpace`` file.

Cities reuse one file name with different codes (Tokyo 2022's Building_buildingStructureType.xml
uses 1010/1020/..., everyone else 601...611), so a code is only meaningful together with the file
it came from. A ``CodelistResolver`` is created per GML file (codeSpace paths are relative to it)
and caches parsed files by absolute path. When the file is missing we fall back to the built-in
PLATEAU tables below and count a ``codelist_missing`` warning; a code that the table does not
contain resolves to "unknown" with an ``unknown_code`` warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from lxml import etree

UNKNOWN = "unknown"

# column -> code -> (ja, en). Values are those every uro 1.4...4.0 copy agrees on (see
# shared/data/plateau/SOURCES.md); used only when the dataset does not ship its codelist.
BUILTIN: dict[str, dict[str, tuple[str, str]]] = {
    "structure_code": {
        "601": ("木造・土蔵造", "wooden"),
        "602": ("鉄骨鉄筋コンクリート造", "steel-framed reinforced concrete"),
        "603": ("鉄筋コンクリート造", "reinforced concrete"),
        "604": ("鉄骨造", "steel"),
        "605": ("軽量鉄骨造", "lightweight steel"),
        "606": ("レンガ造・コンクリートブロック造・石造", "brick, concrete block, stone"),
        "610": ("非木造", "non-wooden"),
        "611": ("不明", "unknown"),
    },
    "fireproof_code": {
        "1001": ("耐火", "fireproof"),
        "1002": ("準耐火造", "semi-fireproof"),
        "1003": ("その他", "others"),
        "1011": ("不明", "unknown"),
    },
    "usage_code": {
        "401": ("業務施設", "office"),
        "402": ("商業施設", "commercial"),
        "403": ("宿泊施設", "accommodation"),
        "404": ("商業系複合施設", "mixed commercial"),
        "411": ("住宅", "detached house"),
        "412": ("共同住宅", "apartment"),
        "413": ("店舗等併用住宅", "house with shop"),
        "414": ("店舗等併用共同住宅", "apartment with shop"),
        "415": ("作業所併用住宅", "house with workshop"),
        "421": ("官公庁施設", "government office"),
        "422": ("文教厚生施設", "education and welfare"),
        "431": ("運輸倉庫施設", "transport and warehouse"),
        "441": ("工場", "factory"),
        "451": ("農林漁業用施設", "agriculture, forestry, fishery"),
        "452": ("供給処理施設", "utilities"),
        "453": ("防衛施設", "defence"),
        "454": ("その他", "other"),
        "461": ("不明", "unknown"),
    },
    "class_code": {
        "3001": ("普通建物", "ordinary building"),
        "3002": ("堅ろう建物", "solid building"),
        "3003": ("普通無壁舎", "ordinary building without walls"),
        "3004": ("堅ろう無壁舎", "solid building without walls"),
        "9999": ("不明", "unknown"),
    },
}

# The file names PLATEAU uses for each column, so synthetic data and fallbacks agree.
DEFAULT_FILES = {
    "structure_code": "BuildingDetailAttribute_buildingStructureType.xml",
    "fireproof_code": "BuildingDetailAttribute_fireproofStructureType.xml",
    "usage_code": "Building_usage.xml",
    "class_code": "Building_class.xml",
}


def read_codelist(path: Path) -> dict[str, str]:
    """A gml:Dictionary file -> {code: description}. Raises OSError/XMLSyntaxError."""
    out: dict[str, str] = {}
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    for d in tree.iter("{*}Definition"):
        name = desc = None
        for c in d:
            ln = etree.QName(c).localname
            if ln == "name" and name is None:
                name = (c.text or "").strip()
            elif ln == "description":
                desc = (c.text or "").strip()
        if name:
            out[name] = desc or name
    return out


class CodelistResolver:
    """Resolves (column, code, codeSpace) for one GML file; shares a cache across files."""

    def __init__(self, gml_path: Path, warn: Callable[[str, str], None], cache: dict | None = None) -> None:
        # Joined, not resolve()d: resolve stats every component of every path, and the OS
        # follows "..", symlinks included, when the file is opened. The paths only key a cache
        # (a list reached by two names is read twice).
        self.base = gml_path.absolute().parent
        self.warn = warn
        self._cache: dict[Path, dict[str, str] | None] = cache if cache is not None else {}
        # column -> {code: label_ja} actually used, merged into the BuildingTable's code_labels.
        self.used: dict[str, dict[str, str]] = {}
        self._paths: dict[str, Path] = {}
        self._last: dict[str, str | None] = {}

    def _table(self, code_space: str | None) -> dict[str, str] | None:
        if not code_space:
            return None
        path = self._paths.get(code_space)
        if path is None:
            path = self._paths[code_space] = self.base / code_space
        if path not in self._cache:
            try:
                self._cache[path] = read_codelist(path)
            except (OSError, etree.XMLSyntaxError):
                self._cache[path] = None
                self.warn("codelist_missing", f"codeSpace {code_space} not readable; using built-in table")
        return self._cache[path]

    def english(self, column: str, code: str, code_space: str | None) -> str | None:
        """English label from the sibling ``eng/`` folder PLATEAU ships, else built-in."""
        if code_space:
            p = self.base / code_space
            eng = p.parent / "eng" / p.name
            if eng not in self._cache:
                try:
                    self._cache[eng] = read_codelist(eng)
                except (OSError, etree.XMLSyntaxError):
                    self._cache[eng] = None
            t = self._cache[eng]
            if t and code in t:
                return t[code]
        b = BUILTIN.get(column, {}).get(code)
        return b[1] if b else None

    def resolve(self, column: str, code: str, code_space: str | None) -> str:
        """Japanese label for code, "unknown" (with a warning) when the list lacks it."""
        known = self.used.get(column, {}).get(code) if code_space == self._last.get(column) else None
        if known is not None and known != UNKNOWN:
            return known  # hot path: the same few codes repeat across thousands of buildings
        self._last[column] = code_space
        table = self._table(code_space)
        if table is None:
            builtin = BUILTIN.get(column)
            table = {k: v[0] for k, v in builtin.items()} if builtin else {}
        label = table.get(code)
        if label is None:
            self.warn("unknown_code", f"{column} code {code!r} not in {code_space or 'built-in table'}")
            label = UNKNOWN
        self.used.setdefault(column, {})[code] = label
        return label


def merge_labels(
    into: dict[str, dict[str, str]], other: dict[str, dict[str, str]], warn: Callable[[str, str], None]
) -> None:
    """Merge per-file labels into the dataset's; one code meaning two things is a warning."""
    for col, m in other.items():
        dst = into.setdefault(col, {})
        for code, label in m.items():
            if code in dst and dst[code] != label:
                warn("codelist_conflict", f"{col} {code}: {dst[code]!r} vs {label!r}")
                continue
            dst[code] = label
