/* A TLS configuration from PEM files (mgmt/tls.h): what OpenSSL's security
 * level 2 enforced for the cloud link before, spelled out for mbedTLS. */
#include "common/util.h"
#include "mgmt/tls_int.h"

#include <mbedtls/error.h>
#include <stdio.h>
#include <stdlib.h>

/* Certificates (the peer's chain, our own): SHA-2 signatures, RSA keys of
 * 2048 bits at least, curves of 256 bits at least */
static const mbedtls_x509_crt_profile cert_profile = {
  MBEDTLS_X509_ID_FLAG (MBEDTLS_MD_SHA256) | MBEDTLS_X509_ID_FLAG (MBEDTLS_MD_SHA384)
      | MBEDTLS_X509_ID_FLAG (MBEDTLS_MD_SHA512),
  0xFFFFFFF, /* any public key algorithm */
  MBEDTLS_X509_ID_FLAG (MBEDTLS_ECP_DP_SECP256R1) | MBEDTLS_X509_ID_FLAG (MBEDTLS_ECP_DP_SECP384R1)
      | MBEDTLS_X509_ID_FLAG (MBEDTLS_ECP_DP_SECP521R1) | MBEDTLS_X509_ID_FLAG (MBEDTLS_ECP_DP_BP256R1)
      | MBEDTLS_X509_ID_FLAG (MBEDTLS_ECP_DP_BP384R1) | MBEDTLS_X509_ID_FLAG (MBEDTLS_ECP_DP_BP512R1),
  2048,
};

/* Forward secrecy and authenticated encryption only */
static const int ciphersuites[] = {
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
  MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
  0,
};

/* Handshake signatures (the key exchange, a client's CertificateVerify) */
static const int sig_hashes[] = { MBEDTLS_MD_SHA512, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA256, MBEDTLS_MD_NONE };
static const mbedtls_ecp_group_id curves[] = { MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                               MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP521R1,
                                               MBEDTLS_ECP_DP_NONE };

static int
file_error (ch_error_t *err, const char *opt, const char *file, const char *what, int ret)
{
  char buf[128];

  mbedtls_strerror (ret, buf, sizeof (buf));
  return ch_error (err, 0, "TLS: %s %s: %s (%s)", opt, file, what, buf);
}

/* Our own certificate is held to the profile the peer's is: a server at
 * security level 2 refused it in the handshake, a line at start says why. */
static int
check_own (struct ch_tls_conf *c, const struct ch_tls_files *f, ch_error_t *err)
{
  const mbedtls_x509_crt *crt = &c->cert;

  if (mbedtls_pk_get_type (&crt->pk) == MBEDTLS_PK_RSA && mbedtls_pk_get_bitlen (&crt->pk) < 2048)
    return ch_error (err, 0, "TLS: %s %s: an RSA key of %zu bits (2048 at least)", f->cert_opt, f->cert,
                     mbedtls_pk_get_bitlen (&crt->pk));
  if (!(cert_profile.allowed_mds & MBEDTLS_X509_ID_FLAG (crt->sig_md)))
    return ch_error (err, 0, "TLS: %s %s: signed with a hash other than SHA-256, -384 or -512", f->cert_opt, f->cert);
  return 0;
}

static int
load (struct ch_tls_conf *c, const struct ch_tls_files *f, ch_error_t *err)
{
  int r;

  if (f->ca)
    {
      r = mbedtls_x509_crt_parse_file (&c->ca, f->ca);
      if (r < 0 || c->ca.version == 0)
        return file_error (err, f->ca_opt, f->ca, "no CA certificate in it", r);
      c->ca_desc = xasprintf ("%s %s", f->ca_opt, f->ca);
    }
  r = mbedtls_x509_crt_parse_file (&c->cert, f->cert);
  if (r < 0 || c->cert.version == 0)
    return file_error (err, f->cert_opt, f->cert, "no certificate in it", r);
  if (check_own (c, f, err) < 0)
    return -1;
  r = mbedtls_pk_parse_keyfile (&c->key, f->key, NULL);
  /* fails too when the key is not --cert's */
  if (r == 0)
    r = mbedtls_pk_check_pair (&c->cert.pk, &c->key);
  if (r != 0)
    {
      cleanup_free char *what = xasprintf ("no private key in it, or not the one of %s", f->cert_opt);
      return file_error (err, f->key_opt, f->key, what, r);
    }
  return 0;
}

int
ch_tls_conf_new (struct ch_tls_conf **out, enum ch_tls_role role, const struct ch_tls_files *f, ch_error_t *err)
{
  struct ch_tls_conf *c = xzalloc (sizeof (*c));
  mbedtls_ssl_config *s = &c->ssl;
  int r;

  *out = NULL;
  c->role = role;
  mbedtls_ssl_config_init (s);
  mbedtls_x509_crt_init (&c->ca);
  mbedtls_x509_crt_init (&c->cert);
  mbedtls_pk_init (&c->key);
  mbedtls_entropy_init (&c->entropy);
  mbedtls_ctr_drbg_init (&c->drbg);
  if (load (c, f, err) < 0)
    goto fail;
  r = mbedtls_ctr_drbg_seed (&c->drbg, mbedtls_entropy_func, &c->entropy, (const unsigned char *) "chuted", 6);
  if (r == 0)
    r = mbedtls_ssl_config_defaults (s, role == CH_TLS_CLIENT ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (r == 0)
    r = mbedtls_ssl_conf_own_cert (s, &c->cert, &c->key);
  if (r != 0)
    {
      char buf[128];

      mbedtls_strerror (r, buf, sizeof (buf));
      ch_error (err, 0, "TLS: %s", buf);
      goto fail;
    }
  mbedtls_ssl_conf_rng (s, mbedtls_ctr_drbg_random, &c->drbg);
  mbedtls_ssl_conf_min_version (s, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_ciphersuites (s, ciphersuites);
  mbedtls_ssl_conf_sig_hashes (s, sig_hashes);
  mbedtls_ssl_conf_curves (s, curves);
  mbedtls_ssl_conf_cert_profile (s, &cert_profile);
  mbedtls_ssl_conf_renegotiation (s, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  if (f->ca)
    mbedtls_ssl_conf_ca_chain (s, &c->ca, NULL);
  /* a client always verifies the server; a server asks for a client
   * certificate only when given a CA for it */
  mbedtls_ssl_conf_authmode (s, role == CH_TLS_CLIENT || f->ca ? MBEDTLS_SSL_VERIFY_REQUIRED
                                                                : MBEDTLS_SSL_VERIFY_NONE);
  *out = c;
  return 0;
fail:
  ch_tls_conf_free (c);
  return -1;
}

void
ch_tls_conf_free (struct ch_tls_conf *c)
{
  if (c == NULL)
    return;
  mbedtls_ssl_config_free (&c->ssl);
  mbedtls_x509_crt_free (&c->ca);
  mbedtls_x509_crt_free (&c->cert);
  mbedtls_pk_free (&c->key);
  mbedtls_ctr_drbg_free (&c->drbg);
  mbedtls_entropy_free (&c->entropy);
  free (c->ca_desc);
  free (c);
}
