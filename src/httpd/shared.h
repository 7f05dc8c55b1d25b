/* [glue] Memory every child shares (shared.c). */
#ifndef ORGS_SHARED_H
#define ORGS_SHARED_H

#include <httpd.h>

#include "store.h"

/* In post_config (the parent, before the children fork). */
void orgs_shared_post_config(server_rec *s);

/* In each child, once its store handle is open. */
void orgs_shared_child_init(orgs_store_t *st);

/* In each child, once the back channel's state is made: its log gate
 * shared by every child. */
void orgs_shared_backchan_child_init(void);

#endif
