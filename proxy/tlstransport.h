#ifndef SG_TLSTRANSPORT_H
#define SG_TLSTRANSPORT_H

/*
 * The TLS transport: struct sg_transport_type over an OpenSSL SSL on a
 * non-blocking socket, for an accepted client (server side) and for the
 * connection to the upstream (client side).  See transport.h for the
 * contract; the handshake runs by sg_transport_handshake().
 */

#include <openssl/ssl.h>

#include "tls.h"
#include "transport.h"

/*
 * sg_tlstransport_new(ssl, fd):
 * A TLS transport on fd (non-blocking, connected) with ssl, set up for
 * accept or connect by sg_tls_server_ssl() or sg_tls_client_ssl().  t owns
 * ssl and fd afterwards.  Returns NULL (both left to the caller) on
 * allocation failure.
 */
struct sg_transport *sg_tlstransport_new(SSL *ssl, int fd);

/*
 * sg_tlstransport_describe(t, info):
 * Fill info (sg_tls_describe) if t is a TLS transport whose handshake is
 * done; returns 0, or -1 if t is not TLS.
 */
int sg_tlstransport_describe(const struct sg_transport *t,
    struct sg_tls_info *info);

#endif /* !SG_TLSTRANSPORT_H */
