/* lxml's C API, in one file: lxml.etree_api.h defines its function pointers static, filled by
 * import_lxml__etree() for the file that calls it. Text and attribute values come through lxml's
 * own functions (textOf, attributeValueFromNsName), so they are exactly what el.text and el.get()
 * give; line numbers through lxml's copy of xmlGetLineNo (looked up in lxml.etree's shared
 * object), exactly what el.sourceline gives. */
#include "gmlfast.h"

#include <dlfcn.h>

/* lxml.etree.h names these lxml types without declaring them. */
struct LxmlDocument;
typedef xmlNode *(*_node_to_node_function)(xmlNode *);
typedef PyObject *(*_element_class_lookup_function)(PyObject *, struct LxmlDocument *, xmlNode *);
#include "lxml.etree_api.h"

static long (*get_line_no)(const xmlNode *) = NULL;
static PyObject *element_type = NULL; /* lxml.etree._Element */

PyObject *yk_text_of(xmlNode *n) { return textOf(n); }

PyObject *yk_attr(xmlNode *n, const xmlChar *ns, const char *name) {
    return attributeValueFromNsName(n, ns, (const xmlChar *)name);
}

long yk_line_of(const xmlNode *n) {
    long l = get_line_no(n);
    return l > 0 ? l : 0;
}

xmlNode *yk_element_node(PyObject *obj) {
    int ok = PyObject_IsInstance(obj, element_type);
    if (ok < 0) return NULL;
    if (!ok) {
        PyErr_SetString(PyExc_TypeError, "building(): an lxml element is required");
        return NULL;
    }
    return ((struct LxmlElement *)obj)->_c_node;
}

/* 0, or -1 with an ImportError: lxml's API, the same libxml2 as the headers', xmlGetLineNo. */
int yk_lxml_init(void) {
    PyObject *etree, *file, *ver;
    void *h;
    if (import_lxml__etree() < 0) return -1;
    etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL) return -1;
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
    return 0;
fail:
    Py_DECREF(etree);
    return -1;
}
