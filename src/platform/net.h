/* net.h: the socket headers of each OS, for the code outside src/port that
 * handles addresses (sockaddr, inet_pton, htons), resolves names
 * (getaddrinfo) and names interfaces (if_nametoindex). */
#ifndef MP_NET_H
#define MP_NET_H

#ifdef _WIN32
/* winsock2.h before windows.h, which would otherwise bring the old winsock.h. */
#include <winsock2.h>
#include <ws2tcpip.h>
/* if_nametoindex (iphlpapi.dll, Vista and later), after the two above. */
#include <iphlpapi.h>
#else
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#endif
