"""Structure classes (耐火 / 準耐火 / 防火造 / 裸木造 / 不明) from PLATEAU codes.

The mapping is the one used by PLATEAU's fire use case:

* uro:fireproofStructureType 1001 -> 耐火, 1002 -> 準耐火;
* otherwise uro:buildingStructureType 602, 603, 604, 606 -> 耐火; 605, 610 -> 準耐火;
  601 (木造・土蔵造) -> 防火造 or 裸木造 by a scenario setting (optionally by year built);
* anything else ("unknown") with >= 4 storeys or > 3,000 m2 floor area -> 耐火, else 不明.

Codes are read *through the dataset's own codelists*: some cities publish their own numbering
(Kawasaki's fireproof 1010 = "fireproof", Tokyo 23-ku's structure 1010 = "wooden"), so when the
table carries a label for a code we translate the label to the standard code first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Iterable

import numpy as np


class StructureClass(IntEnum):
    FIREPROOF = 0  # 耐火: does not burn in this model
    QUASI_FIREPROOF = 1  # 準耐火
    PROTECTED_WOOD = 2  # 防火造 (wooden with mortar / fire-protected exterior)
    BARE_WOOD = 3  # 裸木造
    UNKNOWN = 4  # 不明: spreads with 防火造 parameters (see model.DEFAULT_CLASS_PARAMS)
    REMOVED = 5  # removed by a scenario (road widening, open space): not a building any more


CLASS_LABELS_JA: dict[int, str] = {
    StructureClass.FIREPROOF: "耐火",
    StructureClass.QUASI_FIREPROOF: "準耐火",
    StructureClass.PROTECTED_WOOD: "防火造",
    StructureClass.BARE_WOOD: "裸木造",
    StructureClass.UNKNOWN: "不明",
    StructureClass.REMOVED: "除却",
}
CLASS_KEYS: dict[int, str] = {
    StructureClass.FIREPROOF: "fireproof",
    StructureClass.QUASI_FIREPROOF: "quasi_fireproof",
    StructureClass.PROTECTED_WOOD: "protected_wood",
    StructureClass.BARE_WOOD: "bare_wood",
    StructureClass.UNKNOWN: "unknown",
    StructureClass.REMOVED: "removed",
}

_BY_NAME: dict[str, StructureClass] = {}
for _c in StructureClass:
    _BY_NAME[CLASS_LABELS_JA[_c]] = _c
    _BY_NAME[CLASS_KEYS[_c]] = _c


def parse_class(name: str) -> StructureClass:
    """'耐火' or 'fireproof' -> StructureClass; ValueError with the accepted names otherwise."""
    try:
        return _BY_NAME[str(name).strip()]
    except KeyError:
        raise ValueError(f"unknown structure class {name!r} (use one of {', '.join(CLASS_LABELS_JA.values())})") from None


FIREPROOF_STANDARD = {"1001": StructureClass.FIREPROOF, "1002": StructureClass.QUASI_FIREPROOF}
STRUCTURE_STANDARD = {
    "602": StructureClass.FIREPROOF,
    "603": StructureClass.FIREPROOF,
    "604": StructureClass.FIREPROOF,
    "606": StructureClass.FIREPROOF,
    "605": StructureClass.QUASI_FIREPROOF,
    "610": StructureClass.QUASI_FIREPROOF,
}
WOODEN_CODE = "601"

# Codelist label -> standard code. Labels from the national codelists (ja) and the variants
# seen in city packages (en). Only used when the dataset ships a label for the code.
_FIREPROOF_LABELS = {
    "耐火": "1001", "耐火造": "1001", "fireproof": "1001",
    "準耐火": "1002", "準耐火造": "1002", "semi-fireproof": "1002",
    "その他": "1003", "others": "1003",
    "不明": "1011", "unknown": "1011",
}
_STRUCTURE_LABELS = {
    "木造・土蔵造": "601", "木造": "601", "wooden": "601",
    "鉄骨鉄筋コンクリート造": "602",
    "鉄筋コンクリート造": "603", "reinforced concrete": "603",
    "鉄骨造": "604",
    "軽量鉄骨造": "605",
    "レンガ造・コンクリートブロック造・石造": "606",
    "非木造": "610", "non-wooden": "610",
    "不明": "611", "unknown": "611",
    "その他": "612",
}


def standard_code(code: str, labels: dict[str, str] | None, label_map: dict[str, str]) -> str:
    """The standard PLATEAU code for a raw code, read through the dataset's codelist if any."""
    if not code:
        return ""
    if labels:
        label = labels.get(code)
        if label is not None:
            std = label_map.get(label.strip()) or label_map.get(label.strip().lower())
            if std is not None:
                return std
    return code


@dataclass
class Classification:
    classes: np.ndarray  # int8 StructureClass per table row
    fallbacks: int  # rows whose class came from a default rule (no usable fire/structure code)
    reasons: dict[str, int] = field(default_factory=dict)  # rule -> count, for the report

    def counts(self) -> dict[str, int]:
        """{'耐火': n, ...} for every class present."""
        vals, n = np.unique(self.classes, return_counts=True)
        return {CLASS_LABELS_JA[int(v)]: int(c) for v, c in zip(vals, n)}


def classify(
    structure_code: Iterable[str],
    fireproof_code: Iterable[str],
    storeys_above: np.ndarray,
    total_floor_area: np.ndarray,
    year: np.ndarray,
    *,
    code_labels: dict[str, dict[str, str]] | None = None,
    wooden: StructureClass | str = StructureClass.PROTECTED_WOOD,
    bare_before_year: int | None = None,
) -> Classification:
    """Class per building; see the module docstring for the mapping.

    ``wooden``: class for 601 buildings (防火造 or 裸木造). With ``bare_before_year`` a 601 building
    with a known year before it is 裸木造 and one at or after it 防火造 (unknown year: ``wooden``).
    """
    wooden = parse_class(wooden) if isinstance(wooden, str) else StructureClass(wooden)
    if wooden not in (StructureClass.PROTECTED_WOOD, StructureClass.BARE_WOOD):
        raise ValueError("wooden buildings must be 防火造 or 裸木造")
    labels = code_labels or {}
    s_labels = labels.get("structure_code")
    f_labels = labels.get("fireproof_code")
    structure = list(structure_code)
    fireproof = list(fireproof_code)
    n = len(structure)
    out = np.full(n, StructureClass.UNKNOWN, dtype=np.int8)
    reasons = {"fireproof_code": 0, "structure_code": 0, "wooden": 0, "wooden_by_year": 0,
               "large_unknown_to_fireproof": 0, "unknown": 0}
    storeys = np.asarray(storeys_above)
    floor = np.asarray(total_floor_area, dtype=np.float64)
    years = np.asarray(year)
    for i in range(n):
        f = standard_code(fireproof[i], f_labels, _FIREPROOF_LABELS)
        if f in FIREPROOF_STANDARD:
            out[i] = FIREPROOF_STANDARD[f]
            reasons["fireproof_code"] += 1
            continue
        s = standard_code(structure[i], s_labels, _STRUCTURE_LABELS)
        if s in STRUCTURE_STANDARD:
            out[i] = STRUCTURE_STANDARD[s]
            reasons["structure_code"] += 1
            continue
        if s == WOODEN_CODE:
            if bare_before_year is not None and years[i] > 0:
                out[i] = StructureClass.BARE_WOOD if years[i] < bare_before_year else StructureClass.PROTECTED_WOOD
                reasons["wooden_by_year"] += 1
            else:
                out[i] = wooden
                reasons["wooden"] += 1
            continue
        # No usable code: the size rule, else unknown. Both count as fallbacks.
        if (storeys[i] >= 4) or (np.isfinite(floor[i]) and floor[i] > 3000.0):
            out[i] = StructureClass.FIREPROOF
            reasons["large_unknown_to_fireproof"] += 1
        else:
            reasons["unknown"] += 1
    fallbacks = reasons["large_unknown_to_fireproof"] + reasons["unknown"]
    return Classification(classes=out, fallbacks=fallbacks, reasons=reasons)


def classify_table(table, **kwargs) -> Classification:  # table: yakuba.gis.buildings.BuildingTable
    """:func:`classify` on a BuildingTable's columns and codelist labels."""
    return classify(
        table.structure_code, table.fireproof_code, table.storeys_above, table.total_floor_area,
        table.year, code_labels=table.code_labels, **kwargs,
    )
