/* The array boundary's fast path: a kernel call on NumPy arrays decided and made in C.

Most calls in models are small, and there the Python work around a kernel (argument checks,
promotion, broadcasting, output allocation, cffi's conversions) costs many times the kernel.
call() takes the common case whole: every argument a C-contiguous float32 or float64 array of
one dtype, or a Python number (weak: it takes the arrays' dtype), the arrays of one shape
(those of one element broadcast from a stride of 0, where they add no axis), no out=; a
sampler's seed a Python integer in [0, 2^64). It allocates the results and calls the
kernel's packed entry point (abi.packed_cdecl). Anything else returns NotImplemented, and
the general path of the run time (runtime.py) takes the call, with its rules and messages. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <float.h>
#include <stdint.h>

#define MAX_ARGS 16
#define RELEASE_GIL_FROM 1024    /* elements: below this, the kernel runs in well under 1 ms */

typedef void (*packed_fn)(int64_t, const uint64_t*, void* const*, const int64_t*);

/* plan: (address of the float64 entry, of the float32 entry, inputs, outputs, sampler) */
static int read_plan(PyObject* plan, packed_fn* f64, packed_fn* f32, int* nin, int* nout,
                     int* sampler)
{
    if (!PyTuple_CheckExact(plan) || PyTuple_GET_SIZE(plan) != 5) return 0;
    *f64 = (packed_fn)PyLong_AsVoidPtr(PyTuple_GET_ITEM(plan, 0));
    *f32 = (packed_fn)PyLong_AsVoidPtr(PyTuple_GET_ITEM(plan, 1));
    *nin = (int)PyLong_AsLong(PyTuple_GET_ITEM(plan, 2));
    *nout = (int)PyLong_AsLong(PyTuple_GET_ITEM(plan, 3));
    *sampler = PyObject_IsTrue(PyTuple_GET_ITEM(plan, 4));
    if (PyErr_Occurred()) return -1;
    return *nin > 0 && *nout > 0 && *nin + *nout <= MAX_ARGS;
}

static PyObject* not_here(void)
{
    PyErr_Clear();
    Py_RETURN_NOTIMPLEMENTED;
}

/* the kernel on n elements, then its first output held inside [low, high] (where a draw
   rounded to an end of the support); the GIL is released for calls long enough to pay */
static void run_held(packed_fn f, int single, int64_t n, const uint64_t* words, void* const* p,
                     const int64_t* s, int nin, double low, double high)
{
    f(n, words, p, s);
    if (!(low > -INFINITY || high < INFINITY)) return;
    if (single) {
        const float lo = (float)low, hi = (float)high;
        float* z = (float*)p[nin];
        for (int64_t i = 0; i < n; ++i) z[i] = z[i] < lo ? lo : z[i] > hi ? hi : z[i];
    } else {
        double* z = (double*)p[nin];
        for (int64_t i = 0; i < n; ++i) z[i] = z[i] < low ? low : z[i] > high ? high : z[i];
    }
}

static void run(packed_fn f, int single, int64_t n, const uint64_t* words, void* const* p,
                const int64_t* s, int nin, double low, double high)
{
    if (n <= 0) return;
    if (n >= RELEASE_GIL_FROM) {
        Py_BEGIN_ALLOW_THREADS
        run_held(f, single, n, words, p, s, nin, low, high);
        Py_END_ALLOW_THREADS
    } else {
        run_held(f, single, n, words, p, s, nin, low, high);
    }
}

/* call(plan, args, seed): the kernel's results (one array, or a tuple), or NotImplemented */
static PyObject* call(PyObject* self, PyObject* const* argv, Py_ssize_t argc)
{
    packed_fn f64, f32;
    int nin, nout, sampler;
    if (argc != 3) {
        PyErr_SetString(PyExc_TypeError, "call(plan, args, seed)");
        return NULL;
    }
    const int ok = read_plan(argv[0], &f64, &f32, &nin, &nout, &sampler);
    if (ok < 0) return NULL;
    PyObject* args = argv[1];
    if (!ok || !PyTuple_CheckExact(args) || PyTuple_GET_SIZE(args) != nin) return not_here();

    uint64_t words[2] = {0, 0};
    if (sampler) {
        if (!PyLong_CheckExact(argv[2])) return not_here();     /* None: a fresh seed */
        words[0] = (uint64_t)PyLong_AsUnsignedLongLong(argv[2]);
        if (PyErr_Occurred()) return not_here();     /* negative or too large: the message */
    }

    /* the arguments: arrays of one dtype and the shape of the largest, or numbers */
    PyArrayObject* shape_of = NULL;
    int typenum = -1;
    double values[MAX_ARGS];
    for (int i = 0; i < nin; ++i) {
        PyObject* a = PyTuple_GET_ITEM(args, i);
        if (PyArray_CheckExact(a)) {
            PyArrayObject* arr = (PyArrayObject*)a;
            const int t = PyArray_TYPE(arr);
            if ((t != NPY_DOUBLE && t != NPY_FLOAT) || (typenum >= 0 && t != typenum)
                    || !PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISALIGNED(arr)
                    || PyArray_ISBYTESWAPPED(arr))
                return not_here();
            typenum = t;
            /* the result's shape: the first array of more than one element's, else that of
               the one-element array of most axes */
            if (shape_of == NULL || (PyArray_SIZE(shape_of) == 1 && (PyArray_SIZE(arr) != 1
                                     || PyArray_NDIM(arr) > PyArray_NDIM(shape_of))))
                shape_of = arr;
        } else if (PyFloat_CheckExact(a)) {
            values[i] = PyFloat_AS_DOUBLE(a);
        } else if (PyLong_CheckExact(a)) {
            values[i] = PyLong_AsDouble(a);
            if (PyErr_Occurred()) return not_here();
        } else {
            return not_here();
        }
    }
    if (shape_of == NULL || PyArray_NDIM(shape_of) == 0) return not_here();
    const int nd = PyArray_NDIM(shape_of);
    const npy_intp* dims = PyArray_DIMS(shape_of);
    const npy_intp size = PyArray_SIZE(shape_of);

    void* p[MAX_ARGS];
    int64_t s[MAX_ARGS];
    float narrow[MAX_ARGS];
    for (int i = 0; i < nin; ++i) {
        PyObject* a = PyTuple_GET_ITEM(args, i);
        if (PyArray_CheckExact(a)) {
            PyArrayObject* arr = (PyArrayObject*)a;
            int same = PyArray_NDIM(arr) == nd;
            for (int d = 0; same && d < nd; ++d) same = PyArray_DIMS(arr)[d] == dims[d];
            if (same) s[i] = 1;
            else if (PyArray_SIZE(arr) == 1 && PyArray_NDIM(arr) <= nd) s[i] = 0;
            else return not_here();        /* a true broadcast, or axes a value adds */
            p[i] = PyArray_DATA(arr);
        } else if (typenum == NPY_FLOAT) {
            /* a number too large for float: NumPy's conversion, not C's undefined one */
            if (values[i] == values[i] && values[i] > -INFINITY && values[i] < INFINITY
                    && (values[i] > FLT_MAX || values[i] < -FLT_MAX))
                return not_here();
            narrow[i] = (float)values[i];
            p[i] = &narrow[i];
            s[i] = 0;
        } else {
            p[i] = &values[i];
            s[i] = 0;
        }
    }

    PyObject* outs[MAX_ARGS];
    for (int j = 0; j < nout; ++j) {
        outs[j] = PyArray_SimpleNew(nd, (npy_intp*)dims, typenum);
        if (outs[j] == NULL) {
            for (int k = 0; k < j; ++k) Py_DECREF(outs[k]);
            return NULL;
        }
        p[nin + j] = PyArray_DATA((PyArrayObject*)outs[j]);
    }
    const int single = typenum == NPY_FLOAT;
    run(single ? f32 : f64, single, (int64_t)size, words, p, s, nin, -INFINITY, INFINITY);
    if (nout == 1) return outs[0];
    PyObject* result = PyTuple_New(nout);
    if (result == NULL) {
        for (int j = 0; j < nout; ++j) Py_DECREF(outs[j]);
        return NULL;
    }
    for (int j = 0; j < nout; ++j) PyTuple_SET_ITEM(result, j, outs[j]);
    return result;
}

/* call_at(plan, single, n, seed, addresses, low, high): the kernel on memory its caller
   holds (irgen.torch: tensors), float32 where single is true: addresses lists each input's
   address and stride, then each output's address; low and high (numbers or None) hold
   the first output inside [low, high], where a draw rounded to an end of the support. */
static PyObject* call_at(PyObject* self, PyObject* const* argv, Py_ssize_t argc)
{
    packed_fn f64, f32;
    int nin, nout, sampler;
    if (argc != 7) {
        PyErr_SetString(PyExc_TypeError, "call_at(plan, single, n, seed, addresses, low, high)");
        return NULL;
    }
    const int ok = read_plan(argv[0], &f64, &f32, &nin, &nout, &sampler);
    if (ok < 0) return NULL;
    PyObject* at = argv[4];
    if (!ok || !PyTuple_CheckExact(at) || PyTuple_GET_SIZE(at) != 2 * nin + nout) {
        PyErr_SetString(PyExc_ValueError, "call_at: the plan and the addresses disagree");
        return NULL;
    }
    const int single = PyObject_IsTrue(argv[1]);
    const int64_t n = PyLong_AsLongLong(argv[2]);
    uint64_t words[2] = {0, 0};
    if (sampler) words[0] = (uint64_t)PyLong_AsUnsignedLongLong(argv[3]);
    void* p[MAX_ARGS];
    int64_t s[MAX_ARGS];
    for (int i = 0; i < nin; ++i) {
        p[i] = PyLong_AsVoidPtr(PyTuple_GET_ITEM(at, 2 * i));
        s[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(at, 2 * i + 1));
    }
    for (int j = 0; j < nout; ++j) p[nin + j] = PyLong_AsVoidPtr(PyTuple_GET_ITEM(at, 2 * nin + j));
    const double low = argv[5] == Py_None ? -INFINITY : PyFloat_AsDouble(argv[5]);
    const double high = argv[6] == Py_None ? INFINITY : PyFloat_AsDouble(argv[6]);
    if (single < 0 || PyErr_Occurred()) return NULL;
    run(single ? f32 : f64, single, n, words, p, s, nin, low, high);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"call", (PyCFunction)(void (*)(void))call, METH_FASTCALL,
     "call(plan, args, seed): a kernel's results, or NotImplemented"},
    {"call_at", (PyCFunction)(void (*)(void))call_at, METH_FASTCALL,
     "call_at(plan, single, n, seed, addresses, low, high): a kernel on given memory"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_irgen_boundary",
                                    "irgen's array boundary in C", -1, methods};

PyMODINIT_FUNC PyInit__irgen_boundary(void)
{
    import_array();
    return PyModule_Create(&module);
}
