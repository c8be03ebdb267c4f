/* The supervisor of a Wi-Fi chute's hostapd and dnsmasq: a detached session
 * leader (so it outlives the CLI) that restarts either program when it dies
 * and stops both on SIGTERM. It only forks and waits: it stays small. */
#include "netns/wifi_internal.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t
spawn (char *const *argv, const char *netns_path, int logfd, const sigset_t *orig)
{
  pid_t pid = fork ();
  if (pid != 0)
    return pid;
  sigprocmask (SIG_SETMASK, orig, NULL);
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (netns_path)
    {
      int fd = open (netns_path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns (fd, CLONE_NEWNET) < 0)
        {
          dprintf (logfd, "chuted wifi: enter netns `%s`: %s\n", netns_path, strerror (errno));
          _exit (126);
        }
    }
  dup2 (logfd, 1);
  dup2 (logfd, 2);
  execvp (argv[0], argv);
  dprintf (logfd, "chuted wifi: exec `%s`: %s\n", argv[0], strerror (errno));
  _exit (127);
}

struct child
{
  char *const *argv;
  const char *netns;
  pid_t pid;
  unsigned failures;   /* consecutive quick deaths, for the backoff */
  time_t started, due; /* due: when to restart a dead one (0 = running) */
};

static void
supervise (const struct ch_wifi_procs *p, int logfd, const sigset_t *orig)
{
  struct child c[2] = { { p->hostapd_argv, NULL, 0, 0, 0, 0 }, { p->dnsmasq_argv, p->netns_path, 0, 0, 0, 0 } };
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGCHLD);
  for (int i = 0; i < 2; i++)
    {
      c[i].pid = spawn (c[i].argv, c[i].netns, logfd, orig);
      c[i].started = time (NULL);
    }
  for (;;)
    {
      struct timespec ts = { 1, 0 };
      siginfo_t si;
      int sig = sigtimedwait (&set, &si, &ts);
      time_t now = time (NULL);
      pid_t pid;
      int status;

      if (sig == SIGTERM || sig == SIGINT)
        break;
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        for (int i = 0; i < 2; i++)
          if (pid == c[i].pid)
            {
              /* dying within 10 s of its start counts as a failure: back off 1, 2, 4 .. 30 s */
              c[i].failures = now - c[i].started < 10 ? c[i].failures + 1 : 0;
              c[i].due = now + (c[i].failures > 4 ? 30 : 1 << c[i].failures);
              c[i].pid = 0;
              dprintf (logfd, "chuted wifi: %s exited (status %d), restart in %lds\n", c[i].argv[0], status,
                       (long) (c[i].due - now));
            }
      for (int i = 0; i < 2; i++)
        if (c[i].pid == 0 && now >= c[i].due)
          {
            c[i].pid = spawn (c[i].argv, c[i].netns, logfd, orig);
            c[i].started = now;
          }
    }
  for (int i = 0; i < 2; i++)
    if (c[i].pid > 0)
      kill (c[i].pid, SIGTERM);
  for (int i = 0; i < 2; i++)
    if (c[i].pid > 0)
      waitpid (c[i].pid, NULL, 0);
}

int
ch_wifi_supervise (const struct ch_wifi_procs *p, pid_t *pid, ch_error_t *err)
{
  int pfd[2];
  pid_t first;
  ssize_t n;

  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  first = fork ();
  if (first < 0)
    {
      close (pfd[0]);
      close (pfd[1]);
      return ch_error (err, errno, "fork");
    }
  if (first == 0)
    {
      /* child: new session, fork again so the supervisor is nobody's child but init's */
      sigset_t set, orig;
      int logfd, devnull;
      pid_t sup;

      close (pfd[0]);
      setsid ();
      sup = fork ();
      if (sup != 0)
        {
          (void) !write (pfd[1], &sup, sizeof sup);
          _exit (sup < 0);
        }
      close (pfd[1]);
      logfd = open (p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      devnull = open ("/dev/null", O_RDWR);
      if (devnull >= 0)
        {
          dup2 (devnull, 0);
          dup2 (devnull, 1);
          dup2 (devnull, 2);
          if (devnull > 2)
            close (devnull);
        }
      if (logfd < 0)
        logfd = 2;
      /* no inherited descriptors besides the log (the CLI's locks must not live on here) */
      for (int fd = 3; fd < 1024; fd++)
        if (fd != logfd)
          close (fd);
      if (chdir ("/") < 0)
        _exit (1);
      prctl (PR_SET_NAME, "chuted-wifi");
      /* the CLI may ignore some of these: an ignored SIGCHLD would reap for us */
      for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
          signal (sig, SIG_DFL);
      sigemptyset (&set);
      sigaddset (&set, SIGTERM);
      sigaddset (&set, SIGINT);
      sigaddset (&set, SIGCHLD);
      sigprocmask (SIG_BLOCK, &set, &orig);
      supervise (p, logfd, &orig);
      _exit (0);
    }
  close (pfd[1]);
  waitpid (first, NULL, 0);
  n = read (pfd[0], pid, sizeof *pid);
  close (pfd[0]);
  if (n != (ssize_t) sizeof *pid || *pid <= 0)
    return ch_error (err, 0, "start the Wi-Fi supervisor: fork failed");
  return 0;
}
