/* Compiled fast path of citygml._building: the common PLATEAU building, read straight from
 * libxml2's tree under an lxml element, without a Python proxy per element.
 *
 * It is an exact copy of the Python reader's behaviour for the buildings it accepts, and it
 * accepts only those it can read without a warning: anything else (a number that is not one,
 * holes, gml:pos, srsDimension on a posList, CityGML 3.0 heights, LOD2 surfaces to read,
 * entity references...) makes it return None, and citygml.py reads that building in Python as
 * before. So warnings and odd inputs stay in one place, and tests compare the two paths.
 *
 * Text and attribute values come through lxml's own C API (textOf, attributeValueFromNsName),
 * so they are exactly what el.text and el.get() give; line numbers through lxml's copy of
 * xmlGetLineNo (looked up in lxml.etree's shared object), exactly what el.sourceline gives.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <libxml/tree.h>

/* lxml.etree.h names these lxml types without declaring them. */
struct LxmlDocument;
typedef xmlNode *(*_node_to_node_function)(xmlNode *);
typedef PyObject *(*_element_class_lookup_function)(PyObject *, struct LxmlDocument *, xmlNode *);
#include "lxml.etree_api.h"

#define BAIL 1 /* not an error: this building takes the Python path */

static long (*get_line_no)(const xmlNode *) = NULL;
static PyObject *element_type = NULL; /* lxml.etree._Element */
static PyObject *s_strip = NULL;

static const xmlChar GML_NS[] = "http://www.opengis.net/gml";
static const xmlChar GML32_NS[] = "http://www.opengis.net/gml/3.2";
static const char IUR_PREFIX[] = "https://www.geospatial.jp/iur/";

enum kind { K_CODE, K_STR, K_YEAR, K_MEASURE, K_STOREYS };

typedef struct {
    const char *local;
    const char *key;
    enum kind kind;
    PyObject *pykey;
} leaf_t;

/* values._DIRECT and values._URO_LEAVES, in the same words (checked by the tests). */
static leaf_t DIRECT[] = {
    {"measuredHeight", "measured_height", K_MEASURE, NULL},
    {"storeysAboveGround", "storeys_above", K_STOREYS, NULL},
    {"storeysBelowGround", "storeys_below", K_STOREYS, NULL},
    {"yearOfConstruction", "year", K_YEAR, NULL},
    {"usage", "usage_code", K_CODE, NULL},
    {"class", "class_code", K_CODE, NULL},
    {NULL, NULL, 0, NULL},
};
static leaf_t URO[] = {
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

typedef struct {
    double *v;
    Py_ssize_t n, cap;
} dbuf_t;

typedef struct {
    int64_t *v;
    Py_ssize_t n, cap;
} ibuf_t;

typedef struct {
    PyObject *attrs, *codes, *lod0_fp, *lod0_re, *lod1, *parts, *lazy, *srs;
    int lod2; /* has boundedBy/boundary or lod2 geometry */
    /* z-only LOD1 (see l1_ring): the solid's rings parsed here, not handed to Python as text */
    int zonly;
    dbuf_t l1v;           /* every LOD1 point, x y z */
    ibuf_t l1n;           /* per ring: its point count, then its count without a closing point */
    double zmin, zmax;
    Py_ssize_t l1_polys;
} rec_t;

static int is_name(const xmlNode *n, const char *s) { return strcmp((const char *)n->name, s) == 0; }

static int dbuf_put(dbuf_t *b, double x);
static int ibuf_put(ibuf_t *b, int64_t x);
static int is_space(char c);
static int ring_number(const char **pp, const char *end, double *x);

/* What lxml counts as a child (len(el), el[0], iteration): elements, comments, PIs, entities. */
static int lxml_child(const xmlNode *n) {
    return n->type == XML_ELEMENT_NODE || n->type == XML_COMMENT_NODE || n->type == XML_ENTITY_REF_NODE ||
           n->type == XML_PI_NODE;
}

/* Next element of root's subtree in document order (root itself comes first: el.iter()). */
static xmlNode *next_in(const xmlNode *root, xmlNode *cur) {
    xmlNode *c;
    for (c = cur->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE) return c;
    while (cur && cur != root) {
        for (c = cur->next; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE) return c;
        cur = cur->parent;
    }
    return NULL;
}

static long line_of(const xmlNode *n) {
    long l = get_line_no(n);
    return l > 0 ? l : 0;
}

static PyObject *attr(xmlNode *n, const xmlChar *ns, const char *name) {
    return attributeValueFromNsName(n, ns, (const xmlChar *)name);
}

/* str.strip() of el.text ("" for None). */
static PyObject *stripped_text(xmlNode *n) {
    PyObject *t = textOf(n), *s;
    if (t == NULL) return NULL;
    if (t == Py_None) {
        Py_DECREF(t);
        return PyUnicode_FromStringAndSize("", 0);
    }
    s = PyObject_CallMethodNoArgs(t, s_strip);
    Py_DECREF(t);
    return s;
}

static int set_item(PyObject *d, PyObject *k, PyObject *v) {
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
static int store(rec_t *r, const leaf_t *lf, xmlNode *el) {
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
            return set_item(r->attrs, lf->pykey, PyFloat_FromDouble(v));
        return rc;
    case K_CODE: {
        PyObject *cs = attr(el, NULL, "codeSpace");
        if (cs == NULL) {
            Py_DECREF(s);
            return -1;
        }
        rc = set_item(r->codes, lf->pykey, PyTuple_Pack(2, s, cs));
        Py_DECREF(s);
        Py_DECREF(cs);
        return rc;
    }
    case K_STR:
        return set_item(r->attrs, lf->pykey, s);
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
                return (1 < y && y < 9999) ? set_item(r->attrs, lf->pykey, PyLong_FromLong(y)) : 0;
            }
        }
        rc = number(s, &v);
        Py_DECREF(s);
        if (rc) return rc;
        return (1 < v && v < 9999) ? set_item(r->attrs, lf->pykey, PyLong_FromDouble(v)) : 0;
    }
    case K_STOREYS:
        rc = number(s, &v);
        Py_DECREF(s);
        if (rc) return rc;
        return (0 <= v && v < 9999) ? set_item(r->attrs, lf->pykey, PyLong_FromDouble(v)) : 0;
    default:
        break;
    }
    Py_DECREF(s);
    return BAIL;
}

static const leaf_t *find_leaf(const leaf_t *table, const xmlNode *n) {
    for (; table->local; table++)
        if (is_name(n, table->local)) return table;
    return NULL;
}

/* One LOD1 ring of a building whose solid is wanted only for its z range (transform/localize's
 * z_only; mesh.lod1_z_only): its numbers are parsed here, straight from libxml2's text, instead of
 * becoming a str, a tuple, a list and a slot for Python to parse again (a simple building has ~8
 * such rings to its one LOD0 ring). Only a ring Python would take without a word is accepted:
 * one text child of plain 3D numbers (parse_rings' rules), a multiple of three of them, at least
 * three points besides a closing one. Anything else is a BAIL: Python reads the building. */
static int l1_ring(rec_t *r, xmlNode *n, PyObject *dim) {
    xmlNode *t = n->children;
    int overflow = 0;
    if (PyLong_AsLongAndOverflow(dim, &overflow) != 3 || overflow) return BAIL;
    if (t == NULL || t->next != NULL || t->type != XML_TEXT_NODE || t->content == NULL) return BAIL;
    const char *p = (const char *)t->content, *end = p + strlen(p);
    Py_ssize_t first = r->l1v.n;
    for (;;) {
        while (p < end && is_space(*p)) p++;
        if (p == end) break;
        double x;
        int rc = ring_number(&p, end, &x);
        if (rc) return rc;
        if (dbuf_put(&r->l1v, x) < 0) return -1;
    }
    Py_ssize_t count = r->l1v.n - first;
    if (count == 0 || count % 3) return BAIL;
    const double *v = r->l1v.v + first;
    Py_ssize_t pts = count / 3, k;
    int closed = pts > 1 && v[0] == v[count - 3] && v[1] == v[count - 2] && v[2] == v[count - 1];
    Py_ssize_t distinct = pts - closed;
    if (distinct < 3) return BAIL;
    for (k = 0; k < distinct; k++) {
        double z = v[3 * k + 2];
        if (r->l1_polys == 0 && k == 0) r->zmin = r->zmax = z;
        if (z < r->zmin) r->zmin = z;
        if (z > r->zmax) r->zmax = z;
    }
    if (ibuf_put(&r->l1n, pts) < 0 || ibuf_put(&r->l1n, distinct) < 0) return -1;
    r->l1_polys++;
    return 0;
}

/* citygml._polygons' fast branch (no ids): every gml:posList of the property is one polygon's
 * exterior. Anything that branch hands to _walk is a BAIL here. */
static int polygons(rec_t *r, xmlNode *prop, PyObject *out) {
    xmlNode *g, *n;
    PyObject *srs, *dim, *line = NULL, *t, *ring, *poly, *slot;
    const xmlChar *href;
    int rc = BAIL;
    for (g = prop->children; g && !lxml_child(g); g = g->next)
        ;
    if (g == NULL) return 0;
    if (g->type != XML_ELEMENT_NODE) return BAIL;
    srs = attr(g, NULL, "srsName");
    if (srs == NULL) return -1;
    if (srs != Py_None && PyUnicode_GET_LENGTH(srs) > 0 && r->srs == NULL) {
        r->srs = srs;
    } else {
        Py_DECREF(srs);
    }
    dim = attr(g, NULL, "srsDimension");
    if (dim == NULL) return -1;
    if (dim == Py_None) {
        Py_DECREF(dim);
        dim = PyLong_FromLong(3);
    } else {
        PyObject *d = PyLong_FromUnicodeObject(dim, 10);
        Py_DECREF(dim);
        if (d == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_ValueError)) return -1;
            PyErr_Clear();
            return BAIL;
        }
        dim = d;
    }
    if (g->ns == NULL || g->ns->href == NULL) goto done;
    href = g->ns->href;
    line = PyLong_FromLong(line_of(prop));
    if (line == NULL) goto fail;
    /* One pass: Python first looks for holes/gml:pos, then reads the posLists; a hole or pos
     * anywhere declines the whole building, so what was appended before it is dropped anyway. */
    for (n = prop; n; n = next_in(prop, n)) {
        if (!(n->ns && strcmp((const char *)n->ns->href, (const char *)href) == 0)) continue;
        if (is_name(n, "interior") || is_name(n, "pos")) goto done;
        if (!is_name(n, "posList")) continue;
        PyObject *sd = attr(n, NULL, "srsDimension");
        if (sd == NULL) goto fail;
        Py_DECREF(sd);
        if (sd != Py_None) goto done;
        if (r->zonly && out == r->lod1) {
            int z = l1_ring(r, n, dim);
            if (z < 0) goto fail;
            if (z == BAIL) goto done;
            continue;
        }
        t = textOf(n);
        if (t == NULL) goto fail;
        if (t == Py_None || PyUnicode_GET_LENGTH(t) == 0) {
            Py_DECREF(t);
            goto done;
        }
        ring = PyTuple_Pack(3, t, dim, line);
        Py_DECREF(t);
        if (ring == NULL) goto fail;
        poly = PyList_New(1);
        if (poly == NULL) {
            Py_DECREF(ring);
            goto fail;
        }
        PyList_SET_ITEM(poly, 0, ring);
        slot = Py_BuildValue("(Oi)", poly, 0);
        if (slot == NULL || PyList_Append(out, poly) < 0 || PyList_Append(r->lazy, slot) < 0) {
            Py_XDECREF(slot);
            Py_DECREF(poly);
            goto fail;
        }
        Py_DECREF(slot);
        Py_DECREF(poly);
    }
    rc = 0;
    goto done;
fail:
    rc = -1;
done:
    Py_XDECREF(line);
    Py_DECREF(dim);
    return rc;
}

static PyObject *building(xmlNode *el, int lod, int zonly);

static int read_children(rec_t *r, xmlNode *el, int lod) {
    xmlNode *c, *p;
    const leaf_t *lf;
    int rc;
    for (c = el->children; c; c = c->next) {
        if (c->type == XML_ENTITY_REF_NODE) return BAIL;
        if (c->type != XML_ELEMENT_NODE) continue;
        if ((lf = find_leaf(DIRECT, c)) != NULL) {
            if (lf->kind == K_CODE && is_name(c, "usage")) {
                int has = PyDict_Contains(r->codes, lf->pykey);
                if (has < 0) return -1;
                if (has) continue; /* several usages: the first is the main one */
            }
            if ((rc = store(r, lf, c)) != 0) return rc;
        } else if (is_name(c, "lod0FootPrint") || is_name(c, "lod0MultiSurface")) {
            if ((rc = polygons(r, c, r->lod0_fp)) != 0) return rc;
        } else if (is_name(c, "lod0RoofEdge")) {
            if ((rc = polygons(r, c, r->lod0_re)) != 0) return rc;
        } else if (is_name(c, "lod1Solid") || is_name(c, "lod1MultiSurface")) {
            if ((rc = polygons(r, c, r->lod1)) != 0) return rc;
        } else if (is_name(c, "lod2Solid") || is_name(c, "lod2MultiSurface") || is_name(c, "lod2Geometry") ||
                   is_name(c, "boundedBy") || is_name(c, "boundary")) {
            r->lod2 = 1;
        } else if (is_name(c, "consistsOfBuildingPart") || is_name(c, "buildingPart")) {
            for (p = c->children; p; p = p->next) {
                if (p->type == XML_ENTITY_REF_NODE) return BAIL;
                if (p->type != XML_ELEMENT_NODE || !is_name(p, "BuildingPart")) continue;
                PyObject *part = building(p, lod, 0);
                if (part == NULL) return -1;
                if (part == Py_None) {
                    Py_DECREF(part);
                    return BAIL;
                }
                rc = PyList_Append(r->parts, part);
                Py_DECREF(part);
                if (rc < 0) return -1;
            }
        } else if (is_name(c, "height")) {
            return BAIL; /* CityGML 3.0 con:height: rare, left to Python */
        } else if ((c->ns && c->ns->href && strncmp((const char *)c->ns->href, IUR_PREFIX, sizeof IUR_PREFIX - 1) == 0) ||
                   strncmp((const char *)c->name, "adeOf", 5) == 0) {
            xmlNode *n;
            for (n = c; n; n = next_in(c, n)) {
                if ((lf = find_leaf(URO, n)) == NULL) continue;
                int has = PyDict_Contains(r->attrs, lf->pykey);
                if (has == 0) has = PyDict_Contains(r->codes, lf->pykey);
                if (has < 0) return -1;
                if (!has && (rc = store(r, lf, n)) != 0) return rc;
            }
        }
    }
    return 0;
}

static Py_ssize_t count_poslists(xmlNode *prop) {
    Py_ssize_t k = 0;
    for (xmlNode *n = prop; n; n = next_in(prop, n))
        if (is_name(n, "posList")) k++;
    return k;
}

/* Whether the building looks like mesh.lod1_z_only's: no parts and one LOD0 polygon (holes and
 * gml:pos are BAILs anyway). Read before its children, so its LOD1 rings can go to l1_ring; the
 * end of building() checks what was actually read. */
static int looks_z_only(xmlNode *el) {
    Py_ssize_t fp = 0, re = 0;
    for (xmlNode *c = el->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_name(c, "consistsOfBuildingPart") || is_name(c, "buildingPart")) return 0;
        if (is_name(c, "lod0FootPrint") || is_name(c, "lod0MultiSurface"))
            fp += count_poslists(c);
        else if (is_name(c, "lod0RoofEdge"))
            re += count_poslists(c);
    }
    return (fp ? fp : re) == 1;
}

/* (gml_id, line, attrs, codes, lod0, lod0_kind, lod1, parts, lazy, lod2_skipped, srs_name, z) or
 * None. z: None, or for a z-only building (``zonly``, see l1_ring) (z min, z max, LOD1 values
 * as float64 bytes, int64 bytes of (points, points without the closing one) per ring); its lod1
 * then holds one placeholder polygon [Ellipsis] per ring, for Python to cut from those values. */
static PyObject *building(xmlNode *el, int lod, int zonly) {
    rec_t r = {0};
    PyObject *gid = NULL, *out = NULL, *lod0, *kind, *z = NULL;
    int rc;
    r.zonly = zonly && lod < 2 && looks_z_only(el);
    r.attrs = PyDict_New();
    r.codes = PyDict_New();
    r.lod0_fp = PyList_New(0);
    r.lod0_re = PyList_New(0);
    r.lod1 = PyList_New(0);
    r.parts = PyList_New(0);
    r.lazy = PyList_New(0);
    if (!r.attrs || !r.codes || !r.lod0_fp || !r.lod0_re || !r.lod1 || !r.parts || !r.lazy) goto end;
    rc = read_children(&r, el, lod);
    if (rc < 0) goto end;
    if (rc == BAIL) {
        out = Py_NewRef(Py_None);
        goto end;
    }
    if (PyList_GET_SIZE(r.lod0_fp)) {
        lod0 = r.lod0_fp;
        kind = PyUnicode_FromString("footprint");
    } else if (PyList_GET_SIZE(r.lod0_re)) {
        lod0 = r.lod0_re;
        kind = PyUnicode_FromString("roof_edge");
    } else {
        lod0 = r.lod0_fp;
        kind = PyUnicode_FromString("");
    }
    if (kind == NULL) goto end;
    int skipped = 0;
    if (r.lod2) {
        /* LOD2 surfaces are read only by Python (an LOD2 import, or nothing else to draw). */
        if (lod < 2 && (PyList_GET_SIZE(lod0) || PyList_GET_SIZE(r.lod1))) {
            skipped = 1;
        } else {
            Py_DECREF(kind);
            out = Py_NewRef(Py_None);
            goto end;
        }
    }
    gid = attr(el, GML_NS, "id");
    if (gid != NULL && (gid == Py_None || PyUnicode_GET_LENGTH(gid) == 0)) {
        Py_DECREF(gid);
        gid = attr(el, GML32_NS, "id");
        if (gid != NULL && gid != Py_None && PyUnicode_GET_LENGTH(gid) == 0) {
            Py_DECREF(gid);
            gid = Py_NewRef(Py_None);
        }
    }
    if (gid == NULL) {
        Py_DECREF(kind);
        goto end;
    }
    if (r.l1_polys) {
        /* What looked z-only must be: else Python reads it (its LOD1 texts were not kept). */
        if (PyList_GET_SIZE(r.parts) || PyList_GET_SIZE(lod0) != 1 || PyList_GET_SIZE(r.lod1)) {
            Py_DECREF(kind);
            out = Py_NewRef(Py_None);
            goto end;
        }
        PyObject *one = PyList_New(1);
        if (one == NULL) {
            Py_DECREF(kind);
            goto end;
        }
        PyList_SET_ITEM(one, 0, Py_NewRef(Py_Ellipsis));
        for (Py_ssize_t i = 0; i < r.l1_polys; i++) {
            if (PyList_Append(r.lod1, one) < 0) {
                Py_DECREF(one);
                Py_DECREF(kind);
                goto end;
            }
        }
        Py_DECREF(one);
        z = Py_BuildValue("(ddy#y#)", r.zmin, r.zmax, (const char *)r.l1v.v, r.l1v.n * (Py_ssize_t)sizeof(double),
                          (const char *)r.l1n.v, r.l1n.n * (Py_ssize_t)sizeof(int64_t));
        if (z == NULL) {
            Py_DECREF(kind);
            goto end;
        }
    }
    out = Py_BuildValue("(OlOOONOOOOON)", gid, line_of(el), r.attrs, r.codes, lod0, kind, r.lod1, r.parts, r.lazy,
                        skipped ? Py_True : Py_False, r.srs ? r.srs : Py_None, z ? z : Py_NewRef(Py_None));
end:
    PyMem_Free(r.l1v.v);
    PyMem_Free(r.l1n.v);
    Py_XDECREF(gid);
    Py_XDECREF(r.attrs);
    Py_XDECREF(r.codes);
    Py_XDECREF(r.lod0_fp);
    Py_XDECREF(r.lod0_re);
    Py_XDECREF(r.lod1);
    Py_XDECREF(r.parts);
    Py_XDECREF(r.lazy);
    Py_XDECREF(r.srs);
    return out;
}

static PyObject *py_building(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    int lod, zonly = 0;
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "building(element, lod, z_only=False)");
        return NULL;
    }
    if (nargs == 3 && (zonly = PyObject_IsTrue(args[2])) < 0) return NULL;
    int ok = PyObject_IsInstance(args[0], element_type);
    if (ok < 0) return NULL;
    if (!ok) {
        PyErr_SetString(PyExc_TypeError, "building(): an lxml element is required");
        return NULL;
    }
    lod = (int)PyLong_AsLong(args[1]);
    if (lod == -1 && PyErr_Occurred()) return NULL;
    xmlNode *node = ((struct LxmlElement *)args[0])->_c_node;
    if (node == NULL || node->type != XML_ELEMENT_NODE) Py_RETURN_NONE;
    return building(node, lod, zonly);
}


/* ------------------------------------------------------------------ ring texts -> numbers */

#define RING_MARK -9.87654321e300 /* rings._MARK: a value no coordinate has */

/* Room for one more item of ``size`` bytes in a growable array: doubled when full, 256 items
 * at first (a building's LOD1 values, or a batch's ring values). */
static int grow(void **v, Py_ssize_t *cap, Py_ssize_t n, size_t size) {
    if (n < *cap) return 0;
    Py_ssize_t c = *cap ? *cap * 2 : 256;
    void *p = PyMem_Realloc(*v, (size_t)c * size);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *v = p;
    *cap = c;
    return 0;
}

static int dbuf_put(dbuf_t *b, double x) {
    if (grow((void **)&b->v, &b->cap, b->n, sizeof(double)) < 0) return -1;
    b->v[b->n++] = x;
    return 0;
}

static int ibuf_put(ibuf_t *b, int64_t x) {
    if (grow((void **)&b->v, &b->cap, b->n, sizeof(int64_t)) < 0) return -1;
    b->v[b->n++] = x;
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* One token of a posList: [+-]digits[.digits][(e|E)[+-]digits], at least one mantissa digit.
 * Anything else (nan, inf, hex, '1,5', '1_0') is not accepted here: Python reads and warns. */
static const char *scan_number(const char *p, const char *end) {
    const char *q = p;
    int digits = 0;
    if (q < end && (*q == '+' || *q == '-')) q++;
    while (q < end && *q >= '0' && *q <= '9') q++, digits++;
    if (q < end && *q == '.') {
        q++;
        while (q < end && *q >= '0' && *q <= '9') q++, digits++;
    }
    if (!digits) return NULL;
    if (q < end && (*q == 'e' || *q == 'E')) {
        const char *e = q + 1;
        int ed = 0;
        if (e < end && (*e == '+' || *e == '-')) e++;
        while (e < end && *e >= '0' && *e <= '9') e++, ed++;
        if (!ed) return NULL;
        q = e;
    }
    if (q < end && !is_space(*q)) return NULL;
    return q;
}

/* A token scan_number accepted, rounded exactly as float() does (std::from_chars in
 * _numparse.cpp: libstdc++'s fast_float), or 0 when it stops short of the token's end. */
int yk_parse_double(const char *p, const char *end, double *out);

static int fast_number(const char *p, const char *end, double *out) { return yk_parse_double(p, end, out); }

/* The number at *pp (no leading space), rounded as float() does; *pp moves past it. BAIL for a
 * token parse_rings declines (not a plain number, or the ring mark), -1 on an error. */
static int ring_number(const char **pp, const char *end, double *x) {
    const char *p = *pp, *q = scan_number(p, end);
    char *stop;
    if (q == NULL) return BAIL;
    if (!fast_number(p, q, x)) {
        /* the token ends at a space or at the end of the text; PyOS_string_to_double stops
         * at the first character that is not part of a number, and rounds as float() */
        *x = PyOS_string_to_double(p, &stop, NULL);
        if (*x == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return BAIL;
        }
        if (stop != q) return BAIL;
    }
    if (*x == RING_MARK) return BAIL;
    *pp = q;
    return 0;
}

/* parse_rings(lazy) -> (values, spans) | None. lazy: [(text, srsDimension, line)]. values:
 * float64 bytes, each text's numbers followed by a mark (rings._MARK_VALUE); spans: int64
 * (start, mark index) per text. Exactly what rings._parse_values gives, for 3D plain-number
 * texts only (None otherwise: Python takes those, with its warnings). */
static PyObject *py_parse_rings(PyObject *self, PyObject *arg) {
    dbuf_t b = {0};
    Py_ssize_t i, n;
    int64_t *se = NULL;
    PyObject *out = NULL;
    const double mark = RING_MARK;
    if (!PyList_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "parse_rings(list of (text, dim, line))");
        return NULL;
    }
    n = PyList_GET_SIZE(arg);
    se = PyMem_Malloc((size_t)(n ? n : 1) * 2 * sizeof(int64_t));
    if (se == NULL) return PyErr_NoMemory();
    for (i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(arg, i), *text;
        Py_ssize_t len;
        const char *p, *end;
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) < 2) goto decline;
        text = PyTuple_GET_ITEM(item, 0);
        int overflow = 0;
        if (!PyLong_Check(PyTuple_GET_ITEM(item, 1)) ||
            PyLong_AsLongAndOverflow(PyTuple_GET_ITEM(item, 1), &overflow) != 3 || overflow)
            goto decline;
        if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text)) goto decline;
        p = PyUnicode_AsUTF8AndSize(text, &len);
        if (p == NULL) goto fail;
        end = p + len;
        se[2 * i] = b.n;
        for (;;) {
            while (p < end && is_space(*p)) p++;
            if (p == end) break;
            double x;
            int rc = ring_number(&p, end, &x);
            if (rc < 0) goto fail;
            if (rc) goto decline;
            if (dbuf_put(&b, x) < 0) goto fail;
        }
        se[2 * i + 1] = b.n;
        if (dbuf_put(&b, mark) < 0) goto fail;
    }
    out = Py_BuildValue("(y#y#)", (const char *)b.v, b.n * (Py_ssize_t)sizeof(double), (const char *)se,
                        n * 2 * (Py_ssize_t)sizeof(int64_t));
    goto end;
decline:
    out = Py_NewRef(Py_None);
    goto end;
fail:
    out = NULL;
end:
    PyMem_Free(b.v);
    PyMem_Free(se);
    return out;
}

static PyMethodDef methods[] = {
    {"building", (PyCFunction)(void (*)(void))py_building, METH_FASTCALL,
     "building(element, lod, z_only=False) -> tuple | None: citygml._building's common case, or None for Python to read it."},
    {"parse_rings", py_parse_rings, METH_O,
     "parse_rings(lazy) -> (values bytes, spans bytes) | None: rings._parse_values for plain 3D texts."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_gmlfast", NULL, -1, methods};

static int intern_keys(leaf_t *t) {
    for (; t->local; t++)
        if ((t->pykey = PyUnicode_InternFromString(t->key)) == NULL) return -1;
    return 0;
}

static PyObject *table(const leaf_t *t) {
    PyObject *d = PyDict_New(), *v;
    if (d == NULL) return NULL;
    for (; t->local; t++) {
        v = Py_BuildValue("(si)", t->key, (int)t->kind);
        if (set_item(d, PyUnicode_FromString(t->local), v) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

PyMODINIT_FUNC PyInit__gmlfast(void) {
    PyObject *m, *etree, *file, *ver;
    void *h;
    if (import_lxml__etree() < 0) return NULL;
    etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL) return NULL;
    /* The tree is read through libxml2's structs: refuse a libxml2 other than the headers'. */
    ver = PyObject_GetAttrString(etree, "LIBXML_VERSION");
    if (ver == NULL) goto fail;
    PyObject *want = Py_BuildValue("(iii)", LIBXML_VERSION / 10000, LIBXML_VERSION / 100 % 100, LIBXML_VERSION % 100);
    int same = want ? PyObject_RichCompareBool(ver, want, Py_EQ) : -1;
    Py_XDECREF(want);
    Py_DECREF(ver);
    if (same < 0) goto fail;
    if (!same) {
        PyErr_Format(PyExc_ImportError, "_gmlfast was built for libxml2 %d; lxml runs another", LIBXML_VERSION);
        goto fail;
    }
    element_type = PyObject_GetAttrString(etree, "_Element");
    file = PyObject_GetAttrString(etree, "__file__");
    if (element_type == NULL || file == NULL) goto fail;
    h = dlopen(PyUnicode_AsUTF8(file), RTLD_LAZY | RTLD_NOLOAD);
    Py_DECREF(file);
    if (h != NULL) get_line_no = (long (*)(const xmlNode *))dlsym(h, "xmlGetLineNo");
    if (get_line_no == NULL) {
        PyErr_SetString(PyExc_ImportError, "_gmlfast: xmlGetLineNo not found in lxml.etree");
        goto fail;
    }
    Py_DECREF(etree);
    if ((s_strip = PyUnicode_InternFromString("strip")) == NULL) return NULL;
    if (intern_keys(DIRECT) < 0 || intern_keys(URO) < 0) return NULL;
    m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    PyObject *direct = table(DIRECT), *uro = table(URO);
    if (direct == NULL || uro == NULL || PyModule_AddObjectRef(m, "DIRECT", direct) < 0 ||
        PyModule_AddObjectRef(m, "URO", uro) < 0 || PyModule_AddObject(m, "RING_MARK", PyFloat_FromDouble(RING_MARK)) < 0) {
        Py_XDECREF(direct);
        Py_XDECREF(uro);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(direct);
    Py_DECREF(uro);
    return m;
fail:
    Py_DECREF(etree);
    return NULL;
}
