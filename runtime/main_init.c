/* chuted-init: the pid 1 of a chute run with --init (as tini or catatonit).
 * A process that is pid 1 in its pid namespace gets no signal it has no
 * handler for, and inherits every orphan: most programs are written for
 * neither. This one runs the command as its child, passes the signals it gets
 * on to it, reaps every process that ends, and exits as the child did.
 * Static, libc only: it is bind-mounted into chutes of any distribution. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* write(2), not stdio: stdio and strerror's locale tables would triple the
 * size of a static glibc binary */
static void
say (const char *a, const char *b)
{
  if (write (2, a, strlen (a)) < 0 || (b && write (2, b, strlen (b)) < 0) || write (2, "\n", 1) < 0)
    return;
}

int
main (int argc, char **argv)
{
  sigset_t all, old;
  pid_t child;
  int first = 1;

  if (argc > 1 && strcmp (argv[1], "--") == 0)
    first = 2;
  if (first >= argc)
    {
      say ("usage: chuted-init [--] COMMAND [ARG...]", NULL);
      return 2;
    }
  sigfillset (&all);
  sigprocmask (SIG_BLOCK, &all, &old);
  child = fork ();
  if (child < 0)
    {
      say ("chuted-init: fork failed", NULL);
      return 1;
    }
  if (child == 0)
    {
      /* its own process group, in the terminal's foreground if there is one:
       * the terminal's ^C then reaches the command once, not also through us */
      setpgid (0, 0);
      if (isatty (0))
        tcsetpgrp (0, getpid ()); /* SIGTTOU is blocked here */
      sigprocmask (SIG_SETMASK, &old, NULL);
      execvp (argv[first], argv + first);
      int e = errno;
      say ("chuted-init: cannot exec ", argv[first]);
      _exit (e == ENOENT ? 127 : 126);
    }
  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (&all, &si);

      if (sig < 0)
        continue; /* EINTR */
      if (sig != SIGCHLD)
        {
          /* the terminal's stop signals concern us, not the command */
          if (sig != SIGTTIN && sig != SIGTTOU && sig != SIGTSTP)
            kill (child, sig);
          continue;
        }
      for (;;)
        {
          int st;
          pid_t p = waitpid (-1, &st, WNOHANG);
          if (p <= 0)
            break;
          if (p == child)
            return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
        }
    }
}
