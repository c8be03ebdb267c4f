/* mounts[] and the mount option vocabulary (mount(8) names -> MS_*). */
#include "runtime/spec.h"

#include "common/util.h"

#include <string.h>
#include <sys/mount.h>

static const struct
{
  const char *name;
  bool clear;
  unsigned long flag;
} mount_flags[] = {
  { "defaults", false, 0 },
  { "ro", false, MS_RDONLY },
  { "rw", true, MS_RDONLY },
  { "suid", true, MS_NOSUID },
  { "nosuid", false, MS_NOSUID },
  { "dev", true, MS_NODEV },
  { "nodev", false, MS_NODEV },
  { "exec", true, MS_NOEXEC },
  { "noexec", false, MS_NOEXEC },
  { "sync", false, MS_SYNCHRONOUS },
  { "async", true, MS_SYNCHRONOUS },
  { "dirsync", false, MS_DIRSYNC },
  { "remount", false, MS_REMOUNT },
  { "mand", false, MS_MANDLOCK },
  { "nomand", true, MS_MANDLOCK },
  { "atime", true, MS_NOATIME },
  { "noatime", false, MS_NOATIME },
  { "diratime", true, MS_NODIRATIME },
  { "nodiratime", false, MS_NODIRATIME },
  { "relatime", false, MS_RELATIME },
  { "norelatime", true, MS_RELATIME },
  { "strictatime", false, MS_STRICTATIME },
  { "nostrictatime", true, MS_STRICTATIME },
};

static const struct
{
  const char *name;
  unsigned long flag;
} propagations[] = {
  { "private", MS_PRIVATE },
  { "rprivate", MS_PRIVATE | MS_REC },
  { "slave", MS_SLAVE },
  { "rslave", MS_SLAVE | MS_REC },
  { "shared", MS_SHARED },
  { "rshared", MS_SHARED | MS_REC },
  { "unbindable", MS_UNBINDABLE },
  { "runbindable", MS_UNBINDABLE | MS_REC },
};

unsigned long
ch_propagation_from_name (const char *name)
{
  size_t i;
  for (i = 0; i < sizeof (propagations) / sizeof (propagations[0]); i++)
    if (strcmp (propagations[i].name, name) == 0)
      return propagations[i].flag;
  return 0;
}

void
ch_mount_option (struct ch_spec_mount *m, const char *opt, struct ch_buf *data)
{
  size_t i;

  if (strcmp (opt, "bind") == 0)
    {
      m->bind = true;
      m->flags |= MS_BIND;
      return;
    }
  if (strcmp (opt, "rbind") == 0)
    {
      m->bind = true;
      m->flags |= MS_BIND | MS_REC;
      return;
    }
  for (i = 0; i < sizeof (mount_flags) / sizeof (mount_flags[0]); i++)
    if (strcmp (mount_flags[i].name, opt) == 0)
      {
        if (mount_flags[i].clear)
          m->flags &= ~mount_flags[i].flag;
        else
          m->flags |= mount_flags[i].flag;
        return;
      }
  /* not a tmpfs option: the kernel would refuse it (EINVAL) */
  if (strcmp (opt, "tmpcopyup") == 0)
    {
      m->tmpcopyup = true;
      return;
    }
  if (ch_propagation_from_name (opt))
    {
      m->propagation = ch_propagation_from_name (opt);
      return;
    }
  if (data->len)
    ch_buf_append (data, ",", 1);
  ch_buf_append (data, opt, strlen (opt));
}

int
ch_spec_parse_mounts (struct ch_spec *s, json_t *arr, ch_error_t *err)
{
  size_t i, j;
  json_t *e, *v, *o;

  s->mounts = xzalloc (sizeof (*s->mounts) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      cleanup_free char *k = xasprintf ("mounts[%zu]", i);
      struct ch_spec_mount *m = &s->mounts[s->n_mounts];
      struct ch_buf data = { 0 };

      if (!json_is_object (e))
        return ch_spec_err (err, k, "must be an object");
      if (ch_spec_get (e, k, "destination", JSON_STRING, true, &v, err) < 0)
        return -1;
      if (json_string_value (v)[0] != '/')
        {
          cleanup_free char *kk = xasprintf ("%s.destination", k);
          return ch_spec_err (err, kk, "must be an absolute path, not `%s`", json_string_value (v));
        }
      s->n_mounts++; /* from here the entry owns what it holds */
      m->destination = xstrdup (json_string_value (v));
      if (ch_spec_get (e, k, "type", JSON_STRING, false, &v, err) < 0)
        return -1;
      m->type = xstrdup (v ? json_string_value (v) : "none");
      if (ch_spec_get (e, k, "source", JSON_STRING, false, &v, err) < 0)
        return -1;
      m->source = xstrdup (v ? json_string_value (v) : m->type);
      if (ch_spec_get (e, k, "options", JSON_ARRAY, false, &v, err) < 0)
        return -1;
      if (strcmp (m->type, "bind") == 0)
        m->bind = true, m->flags |= MS_BIND;
      json_array_foreach (v, j, o)
        {
          if (!json_is_string (o))
            {
              cleanup_free char *kk = xasprintf ("%s.options[%zu]", k, j);
              free (data.data);
              return ch_spec_err (err, kk, "must be a string");
            }
          ch_mount_option (m, json_string_value (o), &data);
        }
      if (m->bind && m->source[0] != '/')
        {
          char *abs = xasprintf ("%s/%s", s->bundle, m->source);
          free (m->source);
          m->source = abs;
        }
      m->data = data.len ? ch_buf_steal (&data) : NULL;
      free (data.data);
    }
  return 0;
}
