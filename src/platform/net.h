/* net.h: the system headers of socket addresses and name resolution
 * (getaddrinfo), for the code outside src/port that needs them. */
#ifndef MP_NET_H
#define MP_NET_H

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#endif
