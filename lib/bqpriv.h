#ifndef SG_BQPRIV_H
#define SG_BQPRIV_H

/*
 * What bq.c keeps, for bq.c and its unit test only (check_bq.c), which
 * holds sg_bq_trim() to the memory it gives back: no caller of a queue
 * needs to know.
 */

#include <stddef.h>

#include "bq.h"

/*
 * sg_bq_held(q):
 * The bytes of memory q holds in chunks, its spare included (headers and
 * malloc overhead not counted).
 */
size_t sg_bq_held(const struct sg_bq *q);

#endif /* !SG_BQPRIV_H */
