/* The cloud link's TLS context, made here rather than by libmosquitto
 * (mosquitto_tls_set): the same checks, spelled out, and less memory.
 *
 * libmosquitto's own setup loads openssl.cnf, every cipher and digest name
 * into OpenSSL's name tables, the builtin engines and, through SSL_CTX_new,
 * every error string: ~0.1 MB of heap and pages touched in a daemon whose
 * budget with the link up is 4 MB, for names it never looks up and messages
 * it never prints (it has no log callback). Here OpenSSL starts without its
 * configuration file, engines or strings, and what a system configuration
 * would decide is set explicitly: TLS 1.2 or 1.3, security level 2 (RSA/DH
 * >= 2048 bits, no SHA-1 signatures), the broker's certificate verified
 * against --ca and its name (DNS name or IP address of --cloud) checked,
 * the AP's certificate and key presented. The buffers of an idle
 * connection are released (SSL_MODE_RELEASE_BUFFERS). */
#include "mgmt/cloud_int.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static int
tls_error (ch_error_t *err, const char *opt, const char *file, const char *what)
{
  unsigned long e = ERR_get_error ();

  ERR_clear_error ();
  return ch_error (err, 0, "TLS: %s %s: %s (OpenSSL error %08lx)", opt, file, what, e);
}

/* The name the broker's certificate must carry: an IP address (its SAN) or
 * a DNS name (SAN, else CN; a wildcard only for a whole label). */
static int
check_name (SSL_CTX *ctx, const char *host, ch_error_t *err)
{
  X509_VERIFY_PARAM *p = SSL_CTX_get0_param (ctx);
  unsigned char ip[16];

  if (inet_pton (AF_INET, host, ip) == 1 || inet_pton (AF_INET6, host, ip) == 1)
    {
      if (X509_VERIFY_PARAM_set1_ip_asc (p, host) != 1)
        return ch_error (err, 0, "TLS: broker address %s", host);
      return 0;
    }
  X509_VERIFY_PARAM_set_hostflags (p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (X509_VERIFY_PARAM_set1_host (p, host, 0) != 1)
    return ch_error (err, 0, "TLS: broker name %s", host);
  return 0;
}

int
ch_cloud_tls_ctx (SSL_CTX **out, const char *host, const char *ca, const char *cert, const char *key,
                  ch_error_t *err)
{
  SSL_CTX *ctx;
  int r = -1;

  *out = NULL;
  if (OPENSSL_init_ssl (OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_SSL_STRINGS
                            | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS,
                        NULL)
      != 1)
    return ch_error (err, 0, "TLS: OpenSSL would not start");
  ctx = SSL_CTX_new (TLS_client_method ());
  if (ctx == NULL)
    return ch_error (err, 0, "TLS: no context (out of memory?)");
  SSL_CTX_set_security_level (ctx, 2);
  SSL_CTX_set_options (ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode (ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION) != 1)
    ch_error (err, 0, "TLS: TLS 1.2 not available");
  else if (SSL_CTX_load_verify_file (ctx, ca) != 1)
    tls_error (err, "--ca", ca, "no CA certificate in it");
  else if (SSL_CTX_use_certificate_chain_file (ctx, cert) != 1)
    tls_error (err, "--cert", cert, "no certificate in it");
  /* fails too when the key is not --cert's */
  else if (SSL_CTX_use_PrivateKey_file (ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key (ctx) != 1)
    tls_error (err, "--key", key, "no private key in it, or not the one of --cert");
  else if (check_name (ctx, host, err) == 0)
    r = 0;
  if (r < 0)
    {
      SSL_CTX_free (ctx);
      return -1;
    }
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
  *out = ctx;
  return 0;
}
