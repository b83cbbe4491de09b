/* yakuba.gis._gmlfast: the compiled fast path of the CityGML reader (see gmlfast.h for its files).
 * Optional: without a compiler, or with a libxml2 other than the one it was built for, the
 * Python reader does everything (gis/source/compiled.py). */
#include "gmlfast.h"

static PyMethodDef methods[] = {
    {"building", (PyCFunction)(void (*)(void))yk_py_building, METH_FASTCALL,
     "building(element, lod, z_only=False) -> tuple | None: citygml._building's common case, or None for Python to read it."},
    {"parse_rings", yk_py_parse_rings, METH_O,
     "parse_rings(lazy) -> (values bytes, spans bytes) | None: rings._parse_values for plain 3D texts."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_gmlfast", NULL, -1, methods};

PyMODINIT_FUNC PyInit__gmlfast(void) {
    PyObject *m, *direct, *uro;
    if (yk_lxml_init() < 0 || yk_values_init() < 0) return NULL;
    m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    direct = yk_leaf_table(DIRECT);
    uro = yk_leaf_table(URO);
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
}
