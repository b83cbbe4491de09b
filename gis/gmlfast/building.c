/* A building's common case, read straight from libxml2's tree under an lxml element without a
 * Python proxy per element: citygml._building's fast path. It accepts only buildings it can read
 * without a warning: anything else (a number that is not one, holes, gml:pos, srsDimension on a
 * posList, CityGML 3.0 heights, LOD2 surfaces to read, entity references...) is a BAIL, and
 * citygml.py reads that building in Python. So warnings and odd inputs stay in one place, and
 * tests compare the two paths. */
#include "gmlfast.h"

static const xmlChar GML_NS[] = "http://www.opengis.net/gml";
static const xmlChar GML32_NS[] = "http://www.opengis.net/gml/3.2";
static const char IUR_PREFIX[] = "https://www.geospatial.jp/iur/";

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
        while (p < end && yk_is_space(*p)) p++;
        if (p == end) break;
        double x;
        int rc = yk_ring_number(&p, end, &x);
        if (rc) return rc;
        if (yk_dbuf_put(&r->l1v, x) < 0) return -1;
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
    if (yk_ibuf_put(&r->l1n, pts) < 0 || yk_ibuf_put(&r->l1n, distinct) < 0) return -1;
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
    srs = yk_attr(g, NULL, "srsName");
    if (srs == NULL) return -1;
    if (srs != Py_None && PyUnicode_GET_LENGTH(srs) > 0 && r->srs == NULL) {
        r->srs = srs;
    } else {
        Py_DECREF(srs);
    }
    dim = yk_attr(g, NULL, "srsDimension");
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
    line = PyLong_FromLong(yk_line_of(prop));
    if (line == NULL) goto fail;
    /* One pass: Python first looks for holes/gml:pos, then reads the posLists; a hole or pos
     * anywhere declines the whole building, so what was appended before it is dropped anyway. */
    for (n = prop; n; n = next_in(prop, n)) {
        if (!(n->ns && strcmp((const char *)n->ns->href, (const char *)href) == 0)) continue;
        if (is_name(n, "interior") || is_name(n, "pos")) goto done;
        if (!is_name(n, "posList")) continue;
        PyObject *sd = yk_attr(n, NULL, "srsDimension");
        if (sd == NULL) goto fail;
        Py_DECREF(sd);
        if (sd != Py_None) goto done;
        if (r->zonly && out == r->lod1) {
            int z = l1_ring(r, n, dim);
            if (z < 0) goto fail;
            if (z == BAIL) goto done;
            continue;
        }
        t = yk_text_of(n);
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
        if ((lf = yk_find_leaf(DIRECT, c)) != NULL) {
            if (lf->kind == K_CODE && is_name(c, "usage")) {
                int has = PyDict_Contains(r->codes, lf->pykey);
                if (has < 0) return -1;
                if (has) continue; /* several usages: the first is the main one */
            }
            if ((rc = yk_store(r, lf, c)) != 0) return rc;
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
                if ((lf = yk_find_leaf(URO, n)) == NULL) continue;
                int has = PyDict_Contains(r->attrs, lf->pykey);
                if (has == 0) has = PyDict_Contains(r->codes, lf->pykey);
                if (has < 0) return -1;
                if (!has && (rc = yk_store(r, lf, n)) != 0) return rc;
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
    gid = yk_attr(el, GML_NS, "id");
    if (gid != NULL && (gid == Py_None || PyUnicode_GET_LENGTH(gid) == 0)) {
        Py_DECREF(gid);
        gid = yk_attr(el, GML32_NS, "id");
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
    out = Py_BuildValue("(OlOOONOOOOON)", gid, yk_line_of(el), r.attrs, r.codes, lod0, kind, r.lod1, r.parts, r.lazy,
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

PyObject *yk_py_building(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    int lod, zonly = 0;
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "building(element, lod, z_only=False)");
        return NULL;
    }
    if (nargs == 3 && (zonly = PyObject_IsTrue(args[2])) < 0) return NULL;
    xmlNode *node = yk_element_node(args[0]);
    if (node == NULL && PyErr_Occurred()) return NULL;
    lod = (int)PyLong_AsLong(args[1]);
    if (lod == -1 && PyErr_Occurred()) return NULL;
    if (node == NULL || node->type != XML_ELEMENT_NODE) Py_RETURN_NONE;
    return building(node, lod, zonly);
}
