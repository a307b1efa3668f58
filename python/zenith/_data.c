/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith._data: the dataplane's consumer API for Python. A Stream takes batches from the data
 * service zenith-run started for the rank (ZENITH_DATAPLANE_FD), or from the same engine run in
 * this process; a Batch is one slot of the shared arena, exported through the buffer protocol
 * without a copy and given back to the producer when the last object viewing it is freed.
 * zenith/data.py builds the PyTorch-facing Loader on top. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataplane.h"
#include "runtime/dataspec.h"
#include "runtime/engine.h"

#define WAIT_SLICE_NS (50 * 1000 * 1000ll) /* how often a waiting next() looks at signals */

static PyObject *zenith_error; /* zenith._data.Error, a RuntimeError */

/* Bumped in every forked child: a child shares the parent's arena mapping but is not its
 * consumer, so it must neither take nor give back slots. */
static unsigned long fork_generation;

static void after_fork_in_child(void)
{
    fork_generation++;
}

typedef struct {
    PyObject_HEAD struct zn_engine *engine; /* the in-process host's; NULL under zenith-run */
    struct zn_dp_consumer *consumer;
    struct zn_dataspec spec;
    bool have_spec;
    unsigned long generation;
    unsigned held; /* batches handed out and not yet freed */
    bool busy;     /* a thread is inside next() */
    bool closed;
} StreamObject;

typedef struct {
    PyObject_HEAD StreamObject *stream;
    struct zn_dp_view view;
} BatchObject;

static PyTypeObject StreamType, BatchType;

static PyObject *raise_error(const struct zn_error *err)
{
    PyErr_SetString(zenith_error, err->text[0] ? err->text : "zenith: data: unknown failure");
    return NULL;
}

static bool forked(const StreamObject *s)
{
    return s->generation != fork_generation;
}

static void detach_when_idle(StreamObject *s)
{
    if (s->consumer && s->closed && s->held == 0) {
        zn_dp_detach(s->consumer);
        s->consumer = NULL;
    }
}

/* Stops the in-process producer; the consumer's mapping stays until the last Batch is freed, so
 * whatever a program keeps stays valid memory. A producer's failure reached the program through
 * next() already. */
static void stream_shut(StreamObject *s)
{
    if (s->closed)
        return;
    s->closed = true;
    if (s->engine) {
        Py_BEGIN_ALLOW_THREADS zn_engine_close(s->engine);
        Py_END_ALLOW_THREADS s->engine = NULL;
    }
    if (s->have_spec) {
        zn_dataspec_clear(&s->spec);
        s->have_spec = false;
    }
    detach_when_idle(s);
}

static void stream_dealloc(StreamObject *s)
{
    /* A forked child owns none of this: its copy of the engine has no thread to stop. */
    if (!forked(s))
        stream_shut(s);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static const char *from_environ(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

static int start_engine(StreamObject *s, const char *what, const char *text, unsigned rank,
                        unsigned world, struct zn_error *err)
{
    static cpu_set_t cpus;
    char name[64];
    struct zn_engine_config cfg = {.rank = rank, .world = world};

    if (zn_dataspec_parse(what, text, &s->spec, err) < 0)
        return -1;
    s->have_spec = true;
    cfg.spec = &s->spec;
    if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
        cfg.cpus = &cpus;
    zn_engine_place(&cfg, from_environ, NULL);
    snprintf(name, sizeof(name), "zenith-data.rank%u", rank);
    cfg.name = name;
    s->engine = zn_engine_open(&cfg, err);
    if (!s->engine || zn_engine_start(s->engine, err) < 0)
        return -1;
    s->consumer = zn_dp_attach(zn_engine_fd(s->engine), err);
    return s->consumer ? 0 : -1;
}

static int stream_init(StreamObject *s, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"spec", "rank", "world", "what", NULL};
    const char *text = NULL, *what = "zenith.data";
    unsigned rank = 0, world = 1;
    struct zn_error err = {{0}};
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|zIIs", names, &text, &rank, &world, &what))
        return -1;
    if (s->consumer || s->engine) {
        PyErr_SetString(PyExc_RuntimeError, "zenith: a Stream is set up once");
        return -1;
    }
    if (world == 0 || rank >= world) {
        PyErr_Format(PyExc_ValueError,
                     "zenith: rank %u of world %u is not a rank; give 0 <= rank < world", rank,
                     world);
        return -1;
    }
    s->generation = fork_generation;
    /* Opening checks the whole dataset (a Megatron index, every tar header): no GIL needed. */
    Py_BEGIN_ALLOW_THREADS if (text) rc = start_engine(s, what, text, rank, world, &err);
    else rc = (s->consumer = zn_dp_attach(-1, &err)) ? 0 : -1;
    Py_END_ALLOW_THREADS if (rc < 0)
    {
        stream_shut(s);
        raise_error(&err);
        return -1;
    }
    return 0;
}

static int usable(StreamObject *s)
{
    if (forked(s)) {
        PyErr_SetString(zenith_error,
                        "zenith: data: this process was forked from the one that opened the "
                        "Loader (a DataLoader worker?); open the Loader in the process that "
                        "iterates it, or use num_workers=0");
        return -1;
    }
    if (s->closed) {
        PyErr_SetString(PyExc_ValueError, "zenith: data: the Loader is closed");
        return -1;
    }
    return 0;
}

static PyObject *make_batch(StreamObject *s, const struct zn_dp_view *view)
{
    BatchObject *b = PyObject_New(BatchObject, &BatchType);
    struct zn_error err = {{0}};

    if (!b) {
        zn_dp_release(s->consumer, view, &err);
        return NULL;
    }
    Py_INCREF(s);
    b->stream = s;
    b->view = *view;
    s->held++;
    return (PyObject *)b;
}

/* next(timeout=None): the next Batch, None at the end of the stream. */
static PyObject *stream_next(StreamObject *s, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"timeout", NULL};
    PyObject *timeout_obj = Py_None;
    struct zn_error err = {{0}};
    struct zn_dp_view view;
    int64_t limit = -1, waited = 0;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", names, &timeout_obj))
        return NULL;
    if (timeout_obj != Py_None) {
        double t = PyFloat_AsDouble(timeout_obj);
        if (t == -1.0 && PyErr_Occurred())
            return NULL;
        if (t < 0) {
            PyErr_SetString(PyExc_ValueError, "zenith: timeout must be >= 0 seconds or None");
            return NULL;
        }
        limit = (int64_t)(t * 1e9);
    }
    if (usable(s) < 0)
        return NULL;
    if (s->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "zenith: data: two threads take batches from one Loader at once; "
                        "iterate a Loader from one thread");
        return NULL;
    }
    if (s->held >= zn_dp_header(s->consumer)->slots) {
        PyErr_Format(zenith_error,
                     "zenith: data: this program holds all %u batches of the data service and "
                     "asks for another; drop references to old batches (or their tensors), use "
                     "copy=True, or give more slots= in the SPEC",
                     s->held);
        return NULL;
    }
    /* The batch is usually there already: no GIL round trip for it. */
    rc = zn_dp_next(s->consumer, &view, 0, &err);
    s->busy = true;
    while (rc == ZN_DP_TIMED_OUT) {
        int64_t slice = WAIT_SLICE_NS;
        if (limit >= 0 && waited >= limit)
            break;
        if (limit >= 0 && limit - waited < slice)
            slice = limit - waited;
        Py_BEGIN_ALLOW_THREADS rc = zn_dp_next(s->consumer, &view, slice, &err);
        Py_END_ALLOW_THREADS waited += slice;
        /* Ctrl-C, or Slurm's SIGTERM through the Loader's handler, ends the wait. */
        if (rc == ZN_DP_TIMED_OUT && PyErr_CheckSignals() < 0) {
            s->busy = false;
            return NULL;
        }
    }
    s->busy = false;
    if (rc == ZN_DP_TIMED_OUT) {
        PyErr_Format(PyExc_TimeoutError, "%s", err.text);
        return NULL;
    }
    if (rc < 0)
        return raise_error(&err);
    if (rc == 0)
        Py_RETURN_NONE;
    return make_batch(s, &view);
}

/* A producer's failure reached the program through next(): close() does not raise it again
 * (from an atexit handler, say). */
static PyObject *stream_close(StreamObject *s, PyObject *unused)
{
    (void)unused;
    if (forked(s))
        s->closed = true;
    else
        stream_shut(s);
    Py_RETURN_NONE;
}

#define SET_ITEM(d, key, value)                                                                    \
    do {                                                                                           \
        PyObject *v_ = (value);                                                                    \
        if (!v_ || PyDict_SetItemString((d), (key), v_) < 0) {                                     \
            Py_XDECREF(v_);                                                                        \
            Py_DECREF(d);                                                                          \
            return NULL;                                                                           \
        }                                                                                          \
        Py_DECREF(v_);                                                                             \
    } while (0)

static PyObject *stream_info(StreamObject *s, PyObject *unused)
{
    const struct zn_dp_shared *h;
    PyObject *d, *fields;

    (void)unused;
    if (usable(s) < 0)
        return NULL;
    h = zn_dp_header(s->consumer);
    d = PyDict_New();
    if (!d)
        return NULL;
    SET_ITEM(d, "format", PyUnicode_FromString(zn_format_name((enum zn_format)h->format)));
    SET_ITEM(d, "item_bytes", PyLong_FromUnsignedLong(h->item_bytes));
    SET_ITEM(d, "seq_len", PyLong_FromUnsignedLong(h->seq_len ? h->seq_len - 1 : 0));
    SET_ITEM(d, "batch", PyLong_FromUnsignedLong(h->batch));
    SET_ITEM(d, "record_bytes", PyLong_FromUnsignedLongLong(h->record_bytes));
    SET_ITEM(d, "slots", PyLong_FromUnsignedLong(h->slots));
    SET_ITEM(d, "rank", PyLong_FromUnsignedLong(h->rank));
    SET_ITEM(d, "world", PyLong_FromUnsignedLong(h->world));
    SET_ITEM(d, "seed", PyLong_FromUnsignedLongLong(h->seed));
    SET_ITEM(d, "samples_per_epoch", PyLong_FromUnsignedLongLong(h->samples_per_epoch));
    SET_ITEM(d, "first_epoch", PyLong_FromUnsignedLongLong(h->first_epoch));
    SET_ITEM(d, "first_consumed", PyLong_FromUnsignedLongLong(h->first_consumed));
    SET_ITEM(d, "epochs", PyLong_FromUnsignedLongLong(h->epochs));
    SET_ITEM(d, "drop_last", PyBool_FromLong(h->drop_last));
    SET_ITEM(d, "batches_first_epoch", PyLong_FromUnsignedLongLong(h->batches_first_epoch));
    SET_ITEM(d, "batches_per_epoch", PyLong_FromUnsignedLongLong(h->batches_per_epoch));
    SET_ITEM(d, "rank_samples_first_epoch",
             PyLong_FromUnsignedLongLong(h->rank_samples_first_epoch));
    SET_ITEM(d, "rank_samples_per_epoch", PyLong_FromUnsignedLongLong(h->rank_samples_per_epoch));
    SET_ITEM(d, "backing", PyUnicode_FromString(h->backing));
    SET_ITEM(d, "reader", PyUnicode_FromString(h->reader));
    SET_ITEM(d, "in_process", PyBool_FromLong(s->engine != NULL));
    SET_ITEM(d, "notice", PyUnicode_FromString(s->engine ? zn_engine_notice(s->engine) : ""));
    fields = PyTuple_New(h->names);
    if (!fields) {
        Py_DECREF(d);
        return NULL;
    }
    for (uint32_t i = 0; i < h->names; i++) {
        PyObject *name = PyUnicode_FromString(zn_dp_field_name(s->consumer, i));
        if (!name) {
            Py_DECREF(fields);
            Py_DECREF(d);
            return NULL;
        }
        PyTuple_SET_ITEM(fields, i, name);
    }
    SET_ITEM(d, "field_names", fields);
    return d;
}

static PyObject *stream_stats(StreamObject *s, PyObject *unused)
{
    struct zn_dp_stats st;
    PyObject *d;

    (void)unused;
    if (usable(s) < 0)
        return NULL;
    zn_dp_stats(s->consumer, &st);
    d = PyDict_New();
    if (!d)
        return NULL;
    SET_ITEM(d, "seconds", PyFloat_FromDouble(st.seconds));
    SET_ITEM(d, "batches", PyLong_FromUnsignedLongLong(st.batches));
    SET_ITEM(d, "samples", PyLong_FromUnsignedLongLong(st.samples));
    SET_ITEM(d, "bytes_read", PyLong_FromUnsignedLongLong(st.bytes));
    SET_ITEM(d, "skipped", PyLong_FromUnsignedLongLong(st.skipped));
    SET_ITEM(d, "samples_per_s", PyFloat_FromDouble(st.samples_per_s));
    SET_ITEM(d, "bytes_per_s", PyFloat_FromDouble(st.bytes_per_s));
    SET_ITEM(d, "ready", PyLong_FromUnsignedLong(st.ready));
    SET_ITEM(d, "slots", PyLong_FromUnsignedLong(st.slots));
    SET_ITEM(d, "held", PyLong_FromUnsignedLong(s->held));
    SET_ITEM(d, "stall_s", PyFloat_FromDouble(st.stall_s));
    SET_ITEM(d, "reader_wait_s", PyFloat_FromDouble(st.reader_wait_s));
    SET_ITEM(d, "state",
             PyUnicode_FromString(st.state == ZN_DP_RUNNING ? "running"
                                  : st.state == ZN_DP_DONE  ? "done"
                                                            : "failed"));
    return d;
}

static PyMethodDef stream_methods[] = {
    {"next", (PyCFunction)(void (*)(void))stream_next, METH_VARARGS | METH_KEYWORDS,
     "next(timeout=None) -> Batch, or None when the stream ended"},
    {"close", (PyCFunction)stream_close, METH_NOARGS,
     "stop the in-process producer; batches still held stay valid"},
    {"info", (PyCFunction)stream_info, METH_NOARGS, "what the stream is: format, batch, order"},
    {"stats", (PyCFunction)stream_stats, METH_NOARGS, "samples/s, bytes/s, stall seconds"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zenith._data.Stream",
    .tp_basicsize = sizeof(StreamObject),
    .tp_dealloc = (destructor)stream_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Stream(spec=None, rank=0, world=1, what='zenith.data'): batches from zenith-run's "
              "data service (spec None) or from an engine in this process",
    .tp_methods = stream_methods,
    .tp_init = (initproc)stream_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ Batch */

static void batch_dealloc(BatchObject *b)
{
    StreamObject *s = b->stream;
    struct zn_error err = {{0}};

    /* The last view of the slot is gone: the producer may reuse it. */
    if (!forked(s) && s->consumer) {
        if (!s->closed)
            zn_dp_release(s->consumer, &b->view, &err);
        s->held--;
        detach_when_idle(s);
    }
    Py_DECREF(s);
    PyObject_Free(b);
}

static int batch_getbuffer(BatchObject *b, Py_buffer *view, int flags)
{
    /* Writable: the slot is the program's until it is freed (in-place augmentation, and
     * torch.frombuffer warns on read-only memory). */
    return PyBuffer_FillInfo(view, (PyObject *)b, (void *)b->view.data, (Py_ssize_t)b->view.bytes,
                             0, flags);
}

static PyBufferProcs batch_buffer = {.bf_getbuffer = (getbufferproc)batch_getbuffer};

#define BATCH_FIELD(field)                                                                         \
    static PyObject *batch_get_##field(BatchObject *b, void *unused)                               \
    {                                                                                              \
        (void)unused;                                                                              \
        return PyLong_FromUnsignedLongLong(b->view.batch->field);                                  \
    }
BATCH_FIELD(seq)
BATCH_FIELD(epoch)
BATCH_FIELD(position)
BATCH_FIELD(consumed)
BATCH_FIELD(samples)
BATCH_FIELD(skipped)
BATCH_FIELD(fields)

static PyObject *batch_get_last(BatchObject *b, void *unused)
{
    (void)unused;
    return PyBool_FromLong(b->view.batch->last);
}

static PyObject *batch_get_nbytes(BatchObject *b, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLongLong(b->view.bytes);
}

static PyObject *batch_get_slot(BatchObject *b, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(b->view.slot);
}

/* (first offset, stride, length) when the samples lie at equal steps with one length (one
 * strided array: packed, or one per 4 KiB with direct=1), else None. */
static PyObject *batch_rows(BatchObject *b, PyObject *unused)
{
    const struct zn_dp_view *v = &b->view;
    uint32_t n = v->batch->samples;
    uint64_t first, stride, length;

    (void)unused;
    if (n == 0)
        return Py_BuildValue("(KKK)", 0ull, 0ull, 0ull);
    first = v->samples[0].offset;
    length = v->samples[0].length;
    stride = n > 1 ? v->samples[1].offset - first : length;
    if (n > 1 && v->samples[1].offset < first)
        Py_RETURN_NONE;
    for (uint32_t i = 1; i < n; i++)
        if (v->samples[i].length != length || v->samples[i].offset != first + i * stride)
            Py_RETURN_NONE;
    return Py_BuildValue("(KKK)", (unsigned long long)first, (unsigned long long)stride,
                         (unsigned long long)length);
}

/* A list of n items, item(b, i) each. */
static PyObject *list_of(BatchObject *b, uint32_t n, PyObject *(*item)(BatchObject *, uint32_t))
{
    PyObject *list = PyList_New(n);

    for (uint32_t i = 0; list && i < n; i++) {
        PyObject *x = item(b, i);
        if (!x) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, x);
    }
    return list;
}

static PyObject *sample_id(BatchObject *b, uint32_t i)
{
    return PyLong_FromUnsignedLongLong(b->view.samples[i].id);
}

static PyObject *sample_extent(BatchObject *b, uint32_t i)
{
    return Py_BuildValue("(KK)", (unsigned long long)b->view.samples[i].offset,
                         (unsigned long long)b->view.samples[i].length);
}

/* tar: (sample index, field name, offset, length) of a member. */
static PyObject *member(BatchObject *b, uint32_t i)
{
    const struct zn_dp_field *f = &b->view.fields[i];

    return Py_BuildValue("(IsKK)", f->sample, zn_dp_field_name(b->stream->consumer, f->name),
                         (unsigned long long)f->offset, (unsigned long long)f->length);
}

static PyObject *batch_ids(BatchObject *b, PyObject *unused)
{
    (void)unused;
    return list_of(b, b->view.batch->samples, sample_id);
}

static PyObject *batch_extents(BatchObject *b, PyObject *unused)
{
    (void)unused;
    return list_of(b, b->view.batch->samples, sample_extent);
}

static PyObject *batch_members(BatchObject *b, PyObject *unused)
{
    (void)unused;
    return list_of(b, b->view.batch->fields, member);
}

static PyGetSetDef batch_getset[] = {
    {"seq", (getter)batch_get_seq, NULL, "this rank's batch number over all epochs", NULL},
    {"epoch", (getter)batch_get_epoch, NULL, "the epoch", NULL},
    {"position", (getter)batch_get_position, NULL, "the rank's index of its first sample", NULL},
    {"consumed", (getter)batch_get_consumed, NULL,
     "samples of the epoch the whole job consumed once every rank has this batch", NULL},
    {"samples", (getter)batch_get_samples, NULL, "samples in the batch", NULL},
    {"skipped", (getter)batch_get_skipped, NULL, "damaged samples left out (on_error=skip)", NULL},
    {"fields", (getter)batch_get_fields, NULL, "tar members in the batch", NULL},
    {"last", (getter)batch_get_last, NULL, "the epoch's last batch on this rank", NULL},
    {"nbytes", (getter)batch_get_nbytes, NULL, "payload bytes", NULL},
    {"slot", (getter)batch_get_slot, NULL, "the arena slot it lives in", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef batch_methods[] = {
    {"ids", (PyCFunction)batch_ids, METH_NOARGS, "the dataset's sample numbers"},
    {"extents", (PyCFunction)batch_extents, METH_NOARGS,
     "(offset, length) of each sample in the payload"},
    {"rows", (PyCFunction)batch_rows, METH_NOARGS,
     "(first offset, stride, length) when the samples are equally spaced, else None"},
    {"members", (PyCFunction)batch_members, METH_NOARGS,
     "tar: (sample, name, offset, length) of each member"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BatchType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zenith._data.Batch",
    .tp_basicsize = sizeof(BatchObject),
    .tp_dealloc = (destructor)batch_dealloc,
    .tp_as_buffer = &batch_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "one batch in the data service's shared memory, as a buffer; its slot goes back "
              "when the last object viewing it is freed",
    .tp_getset = batch_getset,
    .tp_methods = batch_methods,
};

/* ------------------------------------------------------------------ module */

static PyObject *spec_help(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(zn_dataspec_help);
}

static PyObject *spec_merge(PyObject *self, PyObject *args)
{
    const char *base, *overrides;
    struct zn_error err = {{0}};
    PyObject *out;
    char *merged;

    (void)self;
    if (!PyArg_ParseTuple(args, "zz", &base, &overrides))
        return NULL;
    merged = zn_dataspec_merge(base, overrides, &err);
    if (!merged)
        return PyErr_NoMemory();
    out = PyUnicode_FromString(merged);
    free(merged);
    return out;
}

static PyObject *spec_has_key(PyObject *self, PyObject *args)
{
    const char *text, *key;

    (void)self;
    if (!PyArg_ParseTuple(args, "zs", &text, &key))
        return NULL;
    return PyBool_FromLong(zn_dataspec_has_key(text, key));
}

static PyObject *spec_check(PyObject *self, PyObject *args)
{
    const char *what, *text;
    struct zn_dataspec spec;
    struct zn_error err = {{0}};

    (void)self;
    if (!PyArg_ParseTuple(args, "sz", &what, &text))
        return NULL;
    if (zn_dataspec_parse(what, text, &spec, &err) < 0)
        return raise_error(&err);
    zn_dataspec_clear(&spec);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"spec_help", spec_help, METH_NOARGS, "the SPEC keys, a line each"},
    {"spec_merge", spec_merge, METH_VARARGS,
     "spec_merge(base, overrides): SPEC text, the overrides' keys replacing base's"},
    {"spec_has_key", spec_has_key, METH_VARARGS, "spec_has_key(text, key)"},
    {"spec_check", spec_check, METH_VARARGS,
     "spec_check(what, text): raise Error when the SPEC is not valid"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef data_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "zenith._data",
    .m_doc = "Zenith's dataplane consumer (see zenith.data and zenith-data(7))",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__data(void);

PyMODINIT_FUNC PyInit__data(void)
{
    static bool registered;
    PyObject *m;

    if (PyType_Ready(&StreamType) < 0 || PyType_Ready(&BatchType) < 0)
        return NULL;
    if (!registered) {
        if (pthread_atfork(NULL, NULL, after_fork_in_child) != 0) {
            PyErr_SetString(PyExc_ImportError, "zenith: cannot register a fork handler");
            return NULL;
        }
        registered = true;
    }
    m = PyModule_Create(&data_module);
    if (!m)
        return NULL;
    zenith_error = PyErr_NewExceptionWithDoc(
        "zenith._data.Error", "a data service or dataset failure, with the engine's message",
        PyExc_RuntimeError, NULL);
    if (!zenith_error || PyModule_AddObject(m, "Error", zenith_error) < 0)
        goto fail;
    Py_INCREF(zenith_error);
    Py_INCREF(&StreamType);
    if (PyModule_AddObject(m, "Stream", (PyObject *)&StreamType) < 0)
        goto fail;
    Py_INCREF(&BatchType);
    if (PyModule_AddObject(m, "Batch", (PyObject *)&BatchType) < 0)
        goto fail;
    PyModule_AddIntConstant(m, "VERSION", ZN_DP_VERSION);
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
