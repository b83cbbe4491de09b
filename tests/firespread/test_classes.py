import numpy as np

from yakuba.gis.firespread.classes import StructureClass as C, classify


def run(structure, fireproof, storeys=None, floor=None, year=None, **kw):
    n = len(structure)
    return classify(structure, fireproof, np.array(storeys or [-1] * n), np.array(floor or [np.nan] * n, dtype=float),
                    np.array(year or [-1] * n), **kw)


def test_plateau_mapping():
    r = run(["611", "611", "602", "603", "604", "606", "605", "610", "601", "601"],
            ["1001", "1002", "", "", "", "", "", "", "", "1003"])
    assert r.classes.tolist() == [C.FIREPROOF, C.QUASI_FIREPROOF, C.FIREPROOF, C.FIREPROOF, C.FIREPROOF, C.FIREPROOF,
                                  C.QUASI_FIREPROOF, C.QUASI_FIREPROOF, C.PROTECTED_WOOD, C.PROTECTED_WOOD]
    assert r.fallbacks == 0
    assert run(["601"], [""], wooden="裸木造").classes.tolist() == [C.BARE_WOOD]


def test_unknown_large_buildings_are_fireproof_and_counted_as_fallbacks():
    r = run(["611", "", "611", ""], ["1011", "", "", ""], storeys=[4, 2, 1, -1], floor=[np.nan, 3500.0, 200.0, np.nan])
    assert r.classes.tolist() == [C.FIREPROOF, C.FIREPROOF, C.UNKNOWN, C.UNKNOWN]
    assert r.fallbacks == 4


def test_wooden_by_year():
    r = run(["601", "601", "601"], ["", "", ""], year=[1970, 1990, -1], wooden="防火造", bare_before_year=1981)
    assert r.classes.tolist() == [C.BARE_WOOD, C.PROTECTED_WOOD, C.PROTECTED_WOOD]


def test_codes_are_read_through_the_datasets_codelists():
    # Kawasaki numbers fireproof types 1010/1020; Tokyo 23-ku uses 1010 for wooden structures.
    labels = {"fireproof_code": {"1010": "fireproof", "1020": "semi-fireproof"}, "structure_code": {"1010": "wooden", "1030": "reinforced concrete"}}
    r = run(["", "", "1010", "1030"], ["1010", "1020", "", ""], code_labels=labels)
    assert r.classes.tolist() == [C.FIREPROOF, C.QUASI_FIREPROOF, C.PROTECTED_WOOD, C.FIREPROOF]
