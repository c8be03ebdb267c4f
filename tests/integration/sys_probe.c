/* Built by 11_security.sh (static) and run inside containers: performs one
 * privileged syscall named on the command line and prints "ok" or the errno
 * name, so the test sees what seccomp/capabilities let through. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long
probe (const char *what)
{
  if (strcmp (what, "mount") == 0)
    return mount ("none", "/tmp", "tmpfs", 0, NULL);
  if (strcmp (what, "keyctl") == 0)
    return syscall (SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
  if (strcmp (what, "unshare") == 0)
    return unshare (CLONE_NEWUTS);
  if (strcmp (what, "clone_newns") == 0)
    {
      long pid = syscall (SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
      if (pid == 0)
        _exit (0);
      if (pid > 0)
        waitpid ((pid_t) pid, NULL, 0);
      return pid < 0 ? -1 : 0;
    }
  if (strcmp (what, "fork") == 0)
    {
      pid_t pid = fork ();
      if (pid == 0)
        _exit (0);
      if (pid > 0)
        waitpid (pid, NULL, 0);
      return pid < 0 ? -1 : 0;
    }
  if (strcmp (what, "clone3") == 0)
    return syscall (SYS_clone3, NULL, 0);
  if (strcmp (what, "reboot") == 0)
    return syscall (SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL);
  if (strcmp (what, "personality") == 0)
    return personality (0x0040000 /* ADDR_LIMIT_3GB: not allowed */);
  if (strcmp (what, "vsock") == 0)
    return socket (40 /* AF_VSOCK */, SOCK_STREAM, 0);
  if (strcmp (what, "inet") == 0)
    return socket (AF_INET, SOCK_STREAM, 0);
  if (strcmp (what, "io_uring") == 0)
    {
      char params[120] = { 0 }; /* struct io_uring_params: the kernel only reads it zeroed */
      return syscall (SYS_io_uring_setup, 1, params);
    }
  if (strcmp (what, "close_range") == 0)
    return syscall (SYS_close_range, 1000U, 1001U, 0);
  if (strcmp (what, "chown") == 0)
    return chown ("/dev/shm", 1, 1);
  errno = EINVAL;
  return -1;
}

int
main (int argc, char **argv)
{
  int i;
  for (i = 1; i < argc; i++)
    {
      long r;
      errno = 0;
      r = probe (argv[i]);
      printf ("%s=%s\n", argv[i], r < 0 ? strerrorname_np (errno) : "ok");
    }
  return 0;
}
