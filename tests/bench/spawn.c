/* Run one command and report what it cost: "WALL_NS CPU_US MAXRSS_KB EXIT".
 * A small static launcher, so the child's peak RSS (ru_maxrss survives
 * exec) starts from this program's few hundred KiB, not from Python's. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

int
main (int argc, char **argv)
{
  struct timespec t0, t1;
  struct rusage ru;
  int st;
  pid_t p;

  if (argc < 2)
    return 2;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  p = fork ();
  if (p == 0)
    {
      int fd = open ("/dev/null", O_RDWR);
      dup2 (fd, 0);
      dup2 (fd, 1);
      execvp (argv[1], argv + 1);
      _exit (127);
    }
  wait4 (p, &st, 0, &ru);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  printf ("%lld %ld %ld %d\n", (long long) (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
          (long) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
          ru.ru_maxrss, WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st));
  return 0;
}
