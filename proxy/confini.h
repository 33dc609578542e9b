#ifndef SG_CONFINI_H
#define SG_CONFINI_H

/*
 * The configuration file: INI, read with inih, with errors that name the
 * file, the line, the section and the key.  Private to the configuration.
 */

#include "confbuild.h"

/*
 * sg_confini_read(b, path):
 * Read the file at path into b: the keys of [global] into b->cfg (global
 * options) and b->gopt (session defaults), each other section into a new
 * listener, recording where each value came from.  Refuses unknown or
 * misplaced keys and sections, keys set twice, and a file without a
 * listener.  Keeps path in b->path for later messages.  Returns 0, or -1
 * after sg_confbuild_fail().
 */
int sg_confini_read(struct sg_confbuild *b, const char *path);

#endif /* !SG_CONFINI_H */
