/* chute.yaml -> struct ch_chutefile: YAML syntax (libyaml's document API,
 * which keeps every node's mark), known keys, value types. Values are kept
 * as written; manifest_check.c gives them meaning. */
#include "mgmt/manifest_internal.h"

#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static int
command (struct mf_walk *w, yaml_node_t *n, const char *path, struct ch_mservice *s, ch_error_t *err)
{
  if (s->command.n)
    return mf_error_at (w, n, path, err, "a second command");
  return mf_values (w, n, path, &s->command, true, &s->command_shell, err);
}

static int
dhcp_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;

  if (strcmp (key, "lease") == 0 || strcmp (key, "leasetime") == 0)
    return m->dhcp_lease.s ? mf_error_at (w, k, path, err, "lease given twice (lease and leasetime)")
                           : mf_scalar (w, v, path, &m->dhcp_lease, err);
  if (strcmp (key, "start") == 0)
    return mf_scalar (w, v, path, &m->dhcp_start, err);
  if (strcmp (key, "limit") == 0)
    return mf_scalar (w, v, path, &m->dhcp_limit, err);
  return mf_unknown (w, k, path, "lease (or leasetime), start, limit", err);
}

static int
wireless_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;

  if (strcmp (key, "ssid") == 0)
    return mf_scalar (w, v, path, &m->wifi_ssid, err);
  if (strcmp (key, "key") == 0)
    return mf_scalar (w, v, path, &m->wifi_key, err);
  if (strcmp (key, "hidden") == 0)
    return mf_scalar (w, v, path, &m->wifi_hidden, err);
  if (strcmp (key, "isolate") == 0)
    return mf_scalar (w, v, path, &m->wifi_isolate, err);
  if (strcmp (key, "maxassoc") == 0)
    return mf_scalar (w, v, path, &m->wifi_maxassoc, err);
  return mf_unknown (w, k, path, "ssid, key, hidden, isolate, maxassoc", err);
}

/* The paper's net.wifi: wireless and interface keys in one mapping. */
static int
wifi_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;

  if (strcmp (key, "type") == 0)
    return mf_scalar (w, v, path, &m->wifi_type, err);
  if (strcmp (key, "intfName") == 0)
    return mf_scalar (w, v, path, &m->wifi_intf, err);
  if (strcmp (key, "dhcp") == 0)
    {
      mf_given (&m->dhcp, path, v);
      return mf_each_key (w, v, path, dhcp_key, err);
    }
  if (strcmp (key, "ssid") == 0 || strcmp (key, "key") == 0 || strcmp (key, "hidden") == 0
      || strcmp (key, "isolate") == 0 || strcmp (key, "maxassoc") == 0)
    return wireless_key (w, key, k, v, path, err);
  return mf_unknown (w, k, path, "type, intfName, ssid, key, hidden, isolate, maxassoc, dhcp", err);
}

static int
wifi_given (struct mf_walk *w, yaml_node_t *n, const char *path, ch_error_t *err)
{
  if (w->m->wifi.s)
    return mf_error_at (w, n, path, err, "a second Wi-Fi network (the first at %u:%u, %s): a chute has one", w->m->wifi.line,
                     w->m->wifi.col, w->m->wifi.path);
  mf_given (&w->m->wifi, path, n);
  return 0;
}

/* ParaDrop 0.12's services.S.interfaces.IF: one wifi-ap. */
static int
iface_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;

  if (strcmp (key, "type") == 0)
    return mf_scalar (w, v, path, &m->wifi_type, err);
  if (strcmp (key, "dhcp") == 0)
    {
      mf_given (&m->dhcp, path, v);
      return mf_each_key (w, v, path, dhcp_key, err);
    }
  if (strcmp (key, "wireless") == 0)
    return mf_each_key (w, v, path, wireless_key, err);
  return mf_unknown (w, k, path, "type, dhcp, wireless", err);
}

static int
interfaces_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  if (wifi_given (w, v, path, err) < 0)
    return -1;
  /* the interface's name is the one it gets inside the chute */
  if (mf_scalar (w, k, path, &w->m->wifi_intf, err) < 0)
    return -1;
  return mf_each_key (w, v, path, iface_key, err);
}

static int
binding_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  if (strcmp (key, "external") == 0)
    return mf_scalar (w, v, path, &w->bind_ext, err);
  if (strcmp (key, "internal") == 0)
    return mf_scalar (w, v, path, &w->bind_int, err);
  return mf_unknown (w, k, path, "external, internal", err);
}

static int
requests_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_mservice *s = w->svc;

  if (strcmp (key, "cpu-fraction") == 0)
    return mf_scalar (w, v, path, &s->cpu_fraction, err);
  if (strcmp (key, "as-root") == 0)
    return mf_scalar (w, v, path, &s->as_root, err);
  if (strcmp (key, "port-bindings") == 0)
    {
      if (v->type != YAML_SEQUENCE_NODE)
        return mf_error_at (w, v, path, err, "want a list of {external, internal}, not %s", mf_kind (v));
      for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++)
        {
          cleanup_free char *sub = xasprintf ("%s[%ld]", path, (long) (i - v->data.sequence.items.start));
          yaml_node_t *it = yaml_document_get_node (w->doc, *i);
          struct ch_mval *port = mf_list_add (&w->m->ports);
          int r;

          mf_mark (port, sub, it);
          r = mf_each_key (w, it, sub, binding_key, err);
          if (r == 0 && (w->bind_ext.s == NULL || w->bind_int.s == NULL))
            r = mf_error_at (w, it, sub, err, "want both external (host port) and internal (chute port)");
          if (r == 0)
            port->s = xasprintf ("%s:%s", w->bind_ext.s, w->bind_int.s); /* as -p takes it */
          mf_mval_clear (&w->bind_ext);
          mf_mval_clear (&w->bind_int);
          if (r < 0)
            return -1;
        }
      return 0;
    }
  return mf_unknown (w, k, path, "port-bindings, cpu-fraction, as-root", err);
}

static int
service_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_mservice *s = w->svc;

  if (strcmp (key, "type") == 0)
    return mf_scalar (w, v, path, &s->type, err);
  if (strcmp (key, "image") == 0)
    return mf_scalar (w, v, path, &s->image, err);
  if (strcmp (key, "source") == 0)
    return mf_scalar (w, v, path, &s->source, err);
  if (strcmp (key, "command") == 0)
    return command (w, v, path, s, err);
  if (strcmp (key, "environment") == 0)
    return mf_environment (w, v, path, &s->env, err);
  if (strcmp (key, "dns") == 0)
    return mf_values (w, v, path, &s->dns, false, NULL, err);
  if (strcmp (key, "interfaces") == 0)
    return mf_each_key (w, v, path, interfaces_key, err);
  if (strcmp (key, "requests") == 0)
    return mf_each_key (w, v, path, requests_key, err);
  return mf_unknown (w, k, path, "type, image, source, command, environment, dns, interfaces, requests", err);
}

static int
services_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;

  m->svc = xrealloc (m->svc, (m->n_svc + 1) * sizeof *m->svc);
  w->svc = &m->svc[m->n_svc++];
  memset (w->svc, 0, sizeof *w->svc);
  if (mf_scalar (w, k, path, &w->svc->name, err) < 0)
    return -1;
  return mf_each_key (w, v, path, service_key, err);
}

static int
health_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;

  if (strcmp (key, "http") == 0)
    return mf_scalar (w, v, path, &m->health_http, err);
  if (strcmp (key, "tcp") == 0)
    return mf_scalar (w, v, path, &m->health_tcp, err);
  if (strcmp (key, "exec") == 0)
    return mf_values (w, v, path, &m->health_exec, false, NULL, err);
  if (strcmp (key, "interval") == 0)
    return mf_scalar (w, v, path, &m->health_interval, err);
  if (strcmp (key, "timeout") == 0)
    return mf_scalar (w, v, path, &m->health_timeout, err);
  if (strcmp (key, "grace") == 0)
    return mf_scalar (w, v, path, &m->health_grace, err);
  return mf_unknown (w, k, path, "http, tcp, exec, interval, timeout, grace", err);
}

static int
volume_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  if (mf_scalar (w, k, path, mf_list_add (&w->m->vol_name), err) < 0)
    return -1;
  return mf_scalar (w, v, path, mf_list_add (&w->m->vol_path), err);
}

static int
wan_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  if (strcmp (key, "down") == 0)
    return mf_scalar (w, v, path, &w->m->wan_down, err);
  if (strcmp (key, "up") == 0)
    return mf_scalar (w, v, path, &w->m->wan_up, err);
  return mf_unknown (w, k, path, "down, up", err);
}

static int
resource_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;

  if (strcmp (key, "cpu") == 0)
    return mf_scalar (w, v, path, &m->cpu, err);
  if (strcmp (key, "memory") == 0)
    return mf_scalar (w, v, path, &m->memory, err);
  if (strcmp (key, "disk") == 0)
    return mf_scalar (w, v, path, &m->disk, err);
  if (strcmp (key, "pids") == 0)
    return mf_scalar (w, v, path, &m->pids, err);
  if (strcmp (key, "wan") == 0)
    return mf_each_key (w, v, path, wan_key, err);
  return mf_unknown (w, k, path, "cpu, memory, disk, pids, wan", err);
}

static int
net_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  if (strcmp (key, "wifi") == 0)
    return wifi_given (w, v, path, err) < 0 ? -1 : mf_each_key (w, v, path, wifi_key, err);
  if (strcmp (key, "ports") == 0)
    return mf_values (w, v, path, &w->m->ports, false, NULL, err);
  return mf_unknown (w, k, path, "wifi, ports", err);
}

static int
web_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  if (strcmp (key, "service") == 0)
    return mf_scalar (w, v, path, &w->m->web_service, err);
  if (strcmp (key, "port") == 0)
    return mf_scalar (w, v, path, &w->m->web_port, err);
  return mf_unknown (w, k, path, "service, port", err);
}

static int
dockerfile_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  if (strcmp (key, "local") == 0)
    return mf_scalar (w, v, path, &w->m->dockerfile, err);
  return mf_unknown (w, k, path, "local", err);
}

static int
top_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;
  struct
  {
    const char *key;
    struct ch_mval *v;
  } scalars[] = { { "name", &m->name },       { "version", &m->version }, { "owner", &m->owner },
                  { "date", &m->date },       { "description", &m->description },
                  { "restart", &m->restart }, { "image", &w->top.image } };

  for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++)
    if (strcmp (key, scalars[i].key) == 0)
      return mf_scalar (w, v, path, scalars[i].v, err);
  if (strcmp (key, "dockerfile") == 0)
    {
      if (v->type == YAML_SCALAR_NODE)
        return mf_scalar (w, v, path, &m->dockerfile, err);
      return mf_each_key (w, v, path, dockerfile_key, err);
    }
  if (strcmp (key, "command") == 0)
    return command (w, v, path, &w->top, err);
  /* ParaDrop's first paradrop.yaml: `type: light` + `use: BASE` + command */
  if (strcmp (key, "type") == 0)
    return mf_scalar (w, v, path, &w->top.type, err);
  if (strcmp (key, "use") == 0)
    return w->top.image.s ? mf_error_at (w, k, path, err, "use: and image: both name the base of a light chute: give one")
                          : mf_scalar (w, v, path, &w->top.image, err);
  if (strcmp (key, "environment") == 0)
    return mf_environment (w, v, path, &m->env, err);
  if (strcmp (key, "health") == 0)
    {
      mf_given (&m->health, path, v);
      return mf_each_key (w, v, path, health_key, err);
    }
  if (strcmp (key, "volumes") == 0)
    return mf_each_key (w, v, path, volume_key, err);
  if (strcmp (key, "net") == 0)
    {
      /* `net: none` as `run --net none`; a mapping is the bridge network's */
      if (v->type == YAML_SCALAR_NODE)
        return mf_scalar (w, v, path, &m->net_mode, err);
      return mf_each_key (w, v, path, net_key, err);
    }
  if (strcmp (key, "resource") == 0 || strcmp (key, "resources") == 0)
    return mf_each_key (w, v, path, resource_key, err);
  if (strcmp (key, "services") == 0)
    {
      if (v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.start == v->data.mapping.pairs.top)
        return mf_error_at (w, v, path, err, "no service in it");
      return mf_each_key (w, v, path, services_key, err);
    }
  if (strcmp (key, "web") == 0)
    return mf_each_key (w, v, path, web_key, err);
  return mf_unknown (w, k, path,
                  "name, version, owner, date, description, image, dockerfile, command, environment, restart, "
                  "health, volumes, net, resource, services, web, type, use",
                  err);
}

static void
service_clear (struct ch_mservice *s)
{
  struct ch_mval *v[] = { &s->name, &s->type, &s->image, &s->source, &s->cpu_fraction, &s->as_root };

  for (size_t i = 0; i < sizeof v / sizeof *v; i++)
    mf_mval_clear (v[i]);
  mf_mlist_clear (&s->command);
  mf_mlist_clear (&s->env);
  mf_mlist_clear (&s->dns);
  free (s->base);
  s->base = NULL;
}

/* A single-service file is one service named after the chute; ParaDrop
 * 0.12's `services:` leave no image or command at the top. */
static int
normalise (struct mf_walk *w, yaml_node_t *root, ch_error_t *err)
{
  struct ch_chutefile *m = w->m;

  if (m->n_svc)
    {
      struct ch_mval *top = w->top.image.s     ? &w->top.image
                            : w->top.command.n ? &w->top.command.v[0]
                            : w->top.type.s    ? &w->top.type
                                               : NULL;
      if (top)
        return ch_chutefile_error (m, top, err, "with services:, each service gives its own image and command");
      m->format = "paradrop-0.12";
      service_clear (&w->top);
      return 0;
    }
  m->svc = xzalloc (sizeof *m->svc);
  m->n_svc = 1;
  m->svc[0] = w->top;
  memset (&w->top, 0, sizeof w->top);
  if (m->name.s)
    {
      m->svc[0].name.s = xstrdup (m->name.s);
      m->svc[0].name.path = xstrdup (m->name.path);
      m->svc[0].name.line = m->name.line;
      m->svc[0].name.col = m->name.col;
    }
  m->format = m->svc[0].type.s ? "paradrop-1"
              : (m->svc[0].image.s || m->restart.s || m->health.s || m->ports.n || m->disk.s || m->pids.s
               || m->vol_name.n || m->net_mode.s)
                  ? "chuted"
                  : "paper";
  return 0;
}

int
ch_chutefile_parse (const char *file, const char *text, size_t len, struct ch_chutefile *m, ch_error_t *err)
{
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_node_t *root;
  struct mf_walk w = { .m = m, .doc = &doc };
  int r;

  memset (m, 0, sizeof *m);
  ch_chute_init (&m->chute);
  m->file = xstrdup (file);
  if (!yaml_parser_initialize (&parser))
    return ch_error (err, 0, "%s: cannot initialise the YAML parser", file);
  yaml_parser_set_input_string (&parser, (const unsigned char *) text, len);
  if (!yaml_parser_load (&parser, &doc))
    {
      const yaml_mark_t *mk = parser.problem ? &parser.problem_mark : &parser.mark;
      r = ch_error (err, 0, "%s:%lu:%lu: not valid YAML: %s%s%s", file, (unsigned long) mk->line + 1,
                    (unsigned long) mk->column + 1, parser.problem ? parser.problem : "unknown error",
                    parser.context ? " " : "", parser.context ? parser.context : "");
      yaml_parser_delete (&parser);
      return r;
    }
  yaml_parser_delete (&parser);
  root = yaml_document_get_root_node (&doc);
  if (root == NULL || mf_is_null (root))
    r = ch_error (err, 0, "%s:1:1: empty chute file (want at least name: and image:)", file);
  else
    {
      mf_mark (&m->at, "", root);
      r = mf_each_key (&w, root, "", top_key, err);
      if (r == 0)
        r = normalise (&w, root, err);
    }
  service_clear (&w.top);
  yaml_document_delete (&doc);
  return r < 0 ? -1 : 0;
}

void
ch_chutefile_clear (struct ch_chutefile *m)
{
  struct ch_mval *v[] = { &m->at,          &m->name,         &m->version,      &m->owner,          &m->date,
                          &m->description, &m->dockerfile,   &m->restart,      &m->web_service,    &m->web_port,
                          &m->wifi,        &m->wifi_type,    &m->wifi_intf,    &m->wifi_ssid,      &m->wifi_key,
                          &m->wifi_hidden, &m->wifi_isolate, &m->wifi_maxassoc, &m->dhcp,          &m->dhcp_start,
                          &m->dhcp_limit,  &m->dhcp_lease,   &m->cpu,          &m->memory,         &m->disk,
                          &m->pids,        &m->wan_down,     &m->wan_up,       &m->health,         &m->health_http,
                          &m->health_tcp,  &m->health_interval, &m->health_timeout, &m->health_grace,
                          &m->net_mode };

  for (size_t i = 0; i < sizeof v / sizeof *v; i++)
    mf_mval_clear (v[i]);
  for (size_t i = 0; i < m->n_svc; i++)
    service_clear (&m->svc[i]);
  free (m->svc);
  mf_mlist_clear (&m->env);
  mf_mlist_clear (&m->vol_name);
  mf_mlist_clear (&m->vol_path);
  if (m->net_ports)
    for (size_t i = 0; i < m->ports.n; i++)
      ch_net_port_clear (&m->net_ports[i]);
  free (m->net_ports);
  mf_mlist_clear (&m->ports);
  mf_mlist_clear (&m->health_exec);
  ch_chute_clear (&m->chute);
  ch_wifi_config_clear (&m->wifi_cfg);
  free (m->file);
  memset (m, 0, sizeof *m);
}
