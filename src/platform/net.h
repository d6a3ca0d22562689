/* net.h: the socket headers of each OS, for the code outside src/port that
 * handles addresses (sockaddr, inet_pton, htons) and resolves names
 * (getaddrinfo). */
#ifndef MP_NET_H
#define MP_NET_H

#ifdef _WIN32
/* winsock2.h before windows.h, which would otherwise bring the old winsock.h. */
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#endif
