/* plain-sockaddr.h: included first in every file clang analyzes (make analyze only). Under _GNU_SOURCE
 * glibc declares recvfrom, getpeername, accept... with a transparent union (__SOCKADDR_ARG); clang's
 * analyzer does not see the address escape through it and reports the sockaddr those calls fill in as
 * never written. Declared plainly, the calls are seen to write it. */
#include <features.h>
#undef __USE_GNU
#include <sys/socket.h>
#define __USE_GNU 1
