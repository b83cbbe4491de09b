/* posList numbers: growable buffers, one token exactly as float() reads it, and parse_rings
 * (a batch's ring texts in one call, rings.py's fast path). */
#include "gmlfast.h"

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

int yk_dbuf_put(dbuf_t *b, double x) {
    if (grow((void **)&b->v, &b->cap, b->n, sizeof(double)) < 0) return -1;
    b->v[b->n++] = x;
    return 0;
}

int yk_ibuf_put(ibuf_t *b, int64_t x) {
    if (grow((void **)&b->v, &b->cap, b->n, sizeof(int64_t)) < 0) return -1;
    b->v[b->n++] = x;
    return 0;
}

int yk_is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

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
    if (q < end && !yk_is_space(*q)) return NULL;
    return q;
}


/* The number at *pp (no leading space), rounded as float() does; *pp moves past it. BAIL for a
 * token parse_rings declines (not a plain number, or the ring mark), -1 on an error. */
int yk_ring_number(const char **pp, const char *end, double *x) {
    const char *p = *pp, *q = scan_number(p, end);
    char *stop;
    if (q == NULL) return BAIL;
    if (!yk_parse_double(p, q, x)) { /* numparse.cpp: exact, as float() */
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
PyObject *yk_py_parse_rings(PyObject *self, PyObject *arg) {
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
            while (p < end && yk_is_space(*p)) p++;
            if (p == end) break;
            double x;
            int rc = yk_ring_number(&p, end, &x);
            if (rc < 0) goto fail;
            if (rc) goto decline;
            if (yk_dbuf_put(&b, x) < 0) goto fail;
        }
        se[2 * i + 1] = b.n;
        if (yk_dbuf_put(&b, mark) < 0) goto fail;
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
