/* Attribute values: values.py's readers (_v_code, _v_str, _v_year, _v_measure, _v_storeys) and
 * its leaf tables, in the same words (the tests compare DIRECT and URO with values.py). */
#include "gmlfast.h"

static PyObject *s_strip = NULL;

/* values._DIRECT and values._URO_LEAVES, in the same words (checked by the tests). */
leaf_t DIRECT[] = {
    {"measuredHeight", "measured_height", K_MEASURE, NULL},
    {"storeysAboveGround", "storeys_above", K_STOREYS, NULL},
    {"storeysBelowGround", "storeys_below", K_STOREYS, NULL},
    {"yearOfConstruction", "year", K_YEAR, NULL},
    {"usage", "usage_code", K_CODE, NULL},
    {"class", "class_code", K_CODE, NULL},
    {NULL, NULL, 0, NULL},
};
leaf_t URO[] = {
    {"buildingStructureType", "structure_code", K_CODE, NULL},
    {"fireproofStructureType", "fireproof_code", K_CODE, NULL},
    {"detailedUsage", "detailed_usage", K_CODE, NULL},
    {"totalFloorArea", "total_floor_area", K_MEASURE, NULL},
    {"buildingFootprintArea", "building_footprint_area", K_MEASURE, NULL},
    {"buildingRoofEdgeArea", "building_roof_edge_area", K_MEASURE, NULL},
    {"buildingID", "building_id", K_STR, NULL},
    {"buildingHeight", "uro_building_height", K_MEASURE, NULL},
    {"surveyYear", "survey_year", K_YEAR, NULL},
    {"city", "city_code", K_STR, NULL},
    {NULL, NULL, 0, NULL},
};

/* str.strip() of el.text ("" for None). */
static PyObject *stripped_text(xmlNode *n) {
    PyObject *t = yk_text_of(n), *s;
    if (t == NULL) return NULL;
    if (t == Py_None) {
        Py_DECREF(t);
        return PyUnicode_FromStringAndSize("", 0);
    }
    s = PyObject_CallMethodNoArgs(t, s_strip);
    Py_DECREF(t);
    return s;
}

int yk_set_item(PyObject *d, PyObject *k, PyObject *v) {
    int r;
    if (v == NULL) return -1;
    r = PyDict_SetItem(d, k, v);
    Py_DECREF(v);
    return r;
}

/* float(s) of a stripped, non-blank text, or BAIL where Python would warn (not a number). */
static int number(PyObject *s, double *v) {
    PyObject *f = PyFloat_FromString(s);
    if (f == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) return -1;
        PyErr_Clear();
        return BAIL;
    }
    *v = PyFloat_AS_DOUBLE(f);
    Py_DECREF(f);
    return 0;
}

/* values._v_code/_v_str/_v_year/_v_measure/_v_storeys. */
int yk_store(rec_t *r, const leaf_t *lf, xmlNode *el) {
    PyObject *s;
    double v;
    int rc = 0;
    s = stripped_text(el);
    if (s == NULL) return -1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n == 0) {
        Py_DECREF(s);
        return 0;
    }
    switch (lf->kind) {
    case K_MEASURE: /* float() strips what str.strip() strips: same as _v_measure's two tries */
        rc = number(s, &v);
        Py_DECREF(s);
        if (rc == 0 && v > -9999) /* PLATEAU's sentinels mean unknown */
            return yk_set_item(r->attrs, lf->pykey, PyFloat_FromDouble(v));
        return rc;
    case K_CODE: {
        PyObject *cs = yk_attr(el, NULL, "codeSpace");
        if (cs == NULL) {
            Py_DECREF(s);
            return -1;
        }
        rc = yk_set_item(r->codes, lf->pykey, PyTuple_Pack(2, s, cs));
        Py_DECREF(s);
        Py_DECREF(cs);
        return rc;
    }
    case K_STR:
        return yk_set_item(r->attrs, lf->pykey, s);
    case K_YEAR: {
        int kind = PyUnicode_KIND(s);
        const void *data = PyUnicode_DATA(s);
        if (n >= 4) {
            long y = 0;
            int digits = 1, i;
            for (i = 0; i < 4; i++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, i);
                if (c >= 128) { /* str.isdigit() knows other scripts' digits: Python's call */
                    Py_DECREF(s);
                    return BAIL;
                }
                if (c < '0' || c > '9') digits = 0;
                y = y * 10 + (long)(c - '0');
            }
            if (digits && (n == 4 || PyUnicode_READ(kind, data, 4) == '-')) {
                Py_DECREF(s);
                return (1 < y && y < 9999) ? yk_set_item(r->attrs, lf->pykey, PyLong_FromLong(y)) : 0;
            }
        }
        rc = number(s, &v);
        Py_DECREF(s);
        if (rc) return rc;
        return (1 < v && v < 9999) ? yk_set_item(r->attrs, lf->pykey, PyLong_FromDouble(v)) : 0;
    }
    case K_STOREYS:
        rc = number(s, &v);
        Py_DECREF(s);
        if (rc) return rc;
        return (0 <= v && v < 9999) ? yk_set_item(r->attrs, lf->pykey, PyLong_FromDouble(v)) : 0;
    default:
        break;
    }
    Py_DECREF(s);
    return BAIL;
}

const leaf_t *yk_find_leaf(const leaf_t *table, const xmlNode *n) {
    for (; table->local; table++)
        if (is_name(n, table->local)) return table;
    return NULL;
}

static int intern_keys(leaf_t *t) {
    for (; t->local; t++)
        if ((t->pykey = PyUnicode_InternFromString(t->key)) == NULL) return -1;
    return 0;
}

PyObject *yk_leaf_table(const leaf_t *t) {
    PyObject *d = PyDict_New(), *v;
    if (d == NULL) return NULL;
    for (; t->local; t++) {
        v = Py_BuildValue("(si)", t->key, (int)t->kind);
        if (yk_set_item(d, PyUnicode_FromString(t->local), v) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

/* Interned keys, and str.strip for stripped_text. */
int yk_values_init(void) {
    if ((s_strip = PyUnicode_InternFromString("strip")) == NULL) return -1;
    return intern_keys(DIRECT) < 0 || intern_keys(URO) < 0 ? -1 : 0;
}
