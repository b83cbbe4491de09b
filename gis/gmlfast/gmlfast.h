/* The compiled CityGML reader (yakuba.gis._gmlfast): declarations its files share.
 *
 *   lxml_api.c   the only file that includes lxml's C API (its function pointers are static to
 *                the file that imports them): text, attributes, line numbers, elements
 *   values.c     attribute values (values.py's readers and leaf tables, in C)
 *   rings.c      posList numbers: growable buffers, one token, parse_rings
 *   building.c   a building's common case: the tree walk, polygons, z-only LOD1 solids
 *   numparse.cpp one decimal number, exactly rounded (std::from_chars)
 *   module.c     the module: its two functions, initialisation
 *
 * Everything here is an exact copy of the Python reader's behaviour for what it accepts; BAIL
 * sends a building (or a batch of rings) back to Python, which warns. */
#ifndef YK_GMLFAST_H
#define YK_GMLFAST_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include <libxml/tree.h>

#define BAIL 1 /* not an error: this building takes the Python path */
#define RING_MARK -9.87654321e300 /* rings._MARK: a value no coordinate has */

enum kind { K_CODE, K_STR, K_YEAR, K_MEASURE, K_STOREYS };

typedef struct {
    const char *local;
    const char *key;
    enum kind kind;
    PyObject *pykey;
} leaf_t;

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

static inline int is_name(const xmlNode *n, const char *s) { return strcmp((const char *)n->name, s) == 0; }

/* lxml_api.c */
int yk_lxml_init(void);
PyObject *yk_text_of(xmlNode *n);
PyObject *yk_attr(xmlNode *n, const xmlChar *ns, const char *name);
long yk_line_of(const xmlNode *n);
xmlNode *yk_element_node(PyObject *obj); /* NULL with a TypeError when obj is not an lxml element */

/* values.c */
extern leaf_t DIRECT[], URO[];
int yk_values_init(void);
int yk_set_item(PyObject *d, PyObject *k, PyObject *v);
int yk_store(rec_t *r, const leaf_t *lf, xmlNode *el);
const leaf_t *yk_find_leaf(const leaf_t *table, const xmlNode *n);
PyObject *yk_leaf_table(const leaf_t *t);

/* rings.c */
int yk_dbuf_put(dbuf_t *b, double x);
int yk_ibuf_put(ibuf_t *b, int64_t x);
int yk_is_space(char c);
int yk_ring_number(const char **pp, const char *end, double *x);
PyObject *yk_py_parse_rings(PyObject *self, PyObject *arg);

/* building.c */
PyObject *yk_py_building(PyObject *self, PyObject *const *args, Py_ssize_t nargs);

/* numparse.cpp */
int yk_parse_double(const char *p, const char *end, double *out);

#endif
