/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <inttypes.h>

#include "runtime/dataset-impl.h"

/* Fixed-size records back to back in one file: sample i is bytes [i*R, (i+1)*R). */

int zn_records_open(struct zn_dataset *ds, const struct zn_dataset_options *o, struct zn_error *err)
{
    uint64_t size;

    if (zn_dataset_add_file(ds, o->path, o->direct, &size, err) < 0)
        return -1;
    if (size % o->record_bytes != 0)
        return zn_fail(err,
                       "%s is %" PRIu64 " bytes, not a whole number of %" PRIu64 "-byte "
                       "records: a partial record of %" PRIu64 " bytes at offset %" PRIu64
                       "; is the file truncated, or the record size wrong?",
                       o->path, size, o->record_bytes, size % o->record_bytes,
                       size - size % o->record_bytes);
    ds->record_bytes = o->record_bytes;
    ds->samples = ds->epoch_samples = size / o->record_bytes;
    ds->max_sample_bytes = o->record_bytes;
    ds->total_bytes = size;
    return 0;
}

int zn_records_extents(const struct zn_dataset *ds, uint64_t sample, struct zn_extent *ext,
                       unsigned max)
{
    if (max > 0)
        ext[0] = (struct zn_extent){0, sample * ds->record_bytes, ds->record_bytes};
    return 1;
}
