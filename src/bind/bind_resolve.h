/* bind_resolve.h: hosts of the socket bindings that are names: through
 * the resolver (core/resolve.h), and the resolver's errors as Lua values.
 * (Numeric hosts take the fast path, mp__bind_parse_host, first.)
 * mp.dns, mp.tcp.connect and mp.udp share these. */
#ifndef MP_BIND_RESOLVE_H
#define MP_BIND_RESOLVE_H

#include "bind/bind.h"
#include "core/resolve.h"

/* The string argument hidx as a host the resolver takes; raises a Lua
 * argument error for an empty one, one with a NUL byte or one too long. */
const char *mp__check_host(lua_State *L, int hidx, size_t *len);

/* Resolve the host at argument hidx (checked as mp__check_host does), then
 * continue: done(r) runs on the Lua thread, exactly once, with r->data ==
 * data, and r->addrs holding r->naddrs addresses with hints->port in them
 * (for the socket to try in order), or r->result < 0. A caller that closes
 * meanwhile calls mp__resolve_cancel(r) and still gets its done. Returns
 * r, or NULL with *err set when it could not start (then no done comes). */
mp__resolve *mp__bind_resolve(lua_State *L, int hidx, const mp__resolve_hints *hints,
                              mp__resolve_cb done, void *data, int *err);

/* Push the error of a failed resolution: "ENAME: resolve 'host': what the
 * resolver said" (ECANCELED and ENOMEM keep moonport's own words). */
void mp__push_resolve_err(lua_State *L, const mp__resolve *r);

#endif
